"""The app's API through gradio_client, against the app served on loopback (tests/conftest.py `app_url`)."""
import io
import json
from pathlib import Path

import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from anonymiser.images import load_image
from detectors.geometry import iou
from tests.conftest import gt_boxes


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


PUBLIC = {"detect", "anonymise", "anonymise_video"}


def test_only_the_documented_endpoints_are_public(client):
    assert set(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == {f"/{n}" for n in PUBLIC}


def test_detect_with_only_the_image_finds_the_face_in_the_oriented_photo(client, exif_photo, annotations):
    found = client.predict(handle_file(str(exif_photo)), api_name="/detect")
    assert found["size"] == [512, 600] and found["kinds"] == ["faces", "plates"]
    assert found["metadata_found"]["gps"] == "51.50000, -0.12500"
    selected = np.asarray([r["box"] for r in found["regions"] if r["selected"]], np.float32).reshape(-1, 4)
    truth = gt_boxes(annotations["mpl_grace_hopper.jpg"], "face", hard=None)
    assert iou(truth, selected).max() > 0.5
    assert {r["label"] for r in found["regions"]} <= {"face", "plate"}


def test_detect_takes_kinds_and_thresholds_in_either_form(client, exif_photo):
    image = handle_file(str(exif_photo))
    loose = client.predict(image, "faces", "", api_name="/detect")
    strict = client.predict(image, "faces", '{"faces": 0.95}', api_name="/detect")
    pairs = client.predict(image, "faces", "faces=0.95", api_name="/detect")
    assert strict["regions"] == pairs["regions"] and any(r["selected"] for r in strict["regions"])
    assert all(r["score"] >= 0.95 for r in strict["regions"] if r["selected"])
    lowest = [min(r["score"] for r in result["regions"]) for result in (loose, strict)]
    assert lowest[0] < 0.95 / 2 <= lowest[1]  # the strict threshold also raised the suggestions' floor


def test_anonymise_with_only_the_image_covers_the_face_and_drops_all_metadata(client, exif_photo):
    path, report = client.predict(handle_file(str(exif_photo)), api_name="/anonymise")
    assert path.endswith("phone_photo-anonymised.jpg")
    data = Path(path).read_bytes()
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "JPEG" and not im.info.get("exif") and not im.getexif()
    out, original = load_image(data).pixels.astype(int), load_image(exif_photo.read_bytes()).pixels.astype(int)
    assert out.shape == original.shape == (600, 512, 3)
    changed = np.abs(out - original).max(axis=2) > 40
    face = max((r for r in report["regions"] if r["selected"]), key=lambda r: r["box"][2] - r["box"][0])
    x0, y0, x1, y1 = (round(v) for v in face["box"])
    assert changed[(y0 + y1) // 2 - 20:(y0 + y1) // 2 + 20, (x0 + x1) // 2 - 20:(x0 + x1) // 2 + 20].mean() > 0.2
    assert changed[:, :100].mean() < 0.001  # the flag on the left is only re-encoded
    assert report["metadata_removed"]["gps"]
    for finding in report["privacy_check"]["findings"]:  # the mosaic's blob may still look like a face: said so
        if iou(np.asarray([face["box"]], np.float32), np.asarray([finding["box"]], np.float32))[0, 0] > 0.3:
            assert (finding["reason"], finding["region_id"]) == ("still detected after anonymisation", face["id"])
    assert report["style"]["method"] == "auto" and report["kinds"] == ["faces", "plates"]


def test_anonymise_takes_kinds_method_and_strength(client, eval_dir):
    path, report = client.predict(handle_file(str(eval_dir / "images" / "ocv_imageTextN.png")), "text", "fill",
                                  "light", api_name="/anonymise")
    assert path.endswith(".png") and report["style"]["method"] == "fill" and report["style"]["strength"] == "light"
    assert report["counts"]["text"]["anonymised"] >= 3


def test_anonymise_after_detect_on_the_same_photo_reuses_its_regions(client, eval_dir, monkeypatch):
    from webapp import context, detection_cache

    real, runs = detection_cache.run_detection, []
    # both endpoints detect through the app's cache of recent detections
    monkeypatch.setattr(detection_cache, "run_detection", lambda *args: runs.append(1) or real(*args))
    context.detections.entries.clear()
    photo = handle_file(str(eval_dir / "images" / "mpl_grace_hopper.jpg"))
    found = client.predict(photo, "faces", api_name="/detect")
    _, report = client.predict(photo, "faces", api_name="/anonymise")
    assert len(runs) == 1
    assert [r["box"] for r in report["regions"]] == [r["box"] for r in found["regions"]] != []
    client.predict(photo, "faces", "faces=0.41", api_name="/detect")  # other settings: detected again
    assert len(runs) == 2
    client.predict(photo, "plates", api_name="/anonymise")  # not detected before: detected, once
    assert len(runs) == 3


def test_bad_input_gets_a_sentence_not_a_traceback(client, tmp_path):
    notes = tmp_path / "notes.png"
    notes.write_text("a shopping list")
    with pytest.raises(AppError, match="text file"):
        client.predict(handle_file(str(notes)), api_name="/detect")
    with pytest.raises(AppError, match="unknown kind 'unicorns'"):
        client.predict(handle_file(str(notes)), "unicorns", api_name="/anonymise")


def test_the_tools_are_served_over_mcp(app_url):
    request = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    reply = httpx.post(f"{app_url}gradio_api/mcp/", json=request, timeout=30,
                       headers={"Accept": "application/json, text/event-stream"})
    payload = json.loads(next(line[5:] for line in reply.text.splitlines() if line.startswith("data:")))
    assert {tool["name"] for tool in payload["result"]["tools"]} == PUBLIC


def test_hosting_defaults_keep_nothing_and_tell_nobody(app_url):
    import app

    config = httpx.get(f"{app_url}config", timeout=30).json()
    assert config["analytics_enabled"] is False
    assert app.demo.delete_cache[1] <= 3600 and app.demo.max_file_size == 50 * 1024 * 1024
    assert all(dep.get("api_visibility") != "public" or dep["api_name"] in PUBLIC
               for dep in config["dependencies"])


def test_anonymise_video_returns_a_clip_of_the_same_length_without_metadata(client, tmp_path, annotations, eval_image):
    import av

    from benchmarks.clips import camera_frames, write_clip

    name = "faceapi_sample1.jpg"
    faces = [(o["label"], o["box"]) for o in annotations[name]["objects"] if o["label"] == "face"]
    clip = write_clip(tmp_path / "clip.mov", camera_frames(eval_image(name), faces, (320, 180), 6), (320, 180))
    result, report = client.predict(handle_file(str(clip.path)), "faces", api_name="/anonymise_video")
    path = result["video"] if isinstance(result, dict) else result
    with av.open(path) as container:
        assert container.streams.video[0].frames == 6
        assert not {k for k in container.metadata if k not in ("major_brand", "minor_version", "compatible_brands")}
    assert report["tracks"] and all(t["label"] == "face" for t in report["tracks"])
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a clip")
    with pytest.raises(AppError, match="cannot be used"):
        client.predict(handle_file(str(notes)), api_name="/anonymise_video")
