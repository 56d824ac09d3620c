import io
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from gradio.processing_utils import save_file_to_cache
from gradio.utils import get_upload_folder
from PIL import Image

from anonymiser.images import ImageError, load_image
from anonymiser.settings import Settings
from anonymiser.style import Style
from detectors.engine import detect
from webapp import session
from webapp.review import Review
from webapp.session import Upload, discard, export, open_upload, read_preview, sweep, touch


@pytest.fixture
def workroot(tmp_path, monkeypatch):
    monkeypatch.setattr(session, "WORK_ROOT", tmp_path / "work")
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))  # what sweep() may clean up besides
    return tmp_path / "work"


def test_an_upload_gets_an_oriented_preview_without_metadata(exif_photo, workroot):
    upload, image = open_upload(exif_photo)
    assert upload.size == (512, 600) and image.pixels.shape[:2] == (600, 512)
    assert upload.metadata["gps"] == "51.50000, -0.12500" and upload.notes == ["EXIF orientation 6 applied"]
    with Image.open(upload.preview) as im:
        assert im.size == (512, 600) and not im.getexif() and not im.info.get("exif")
    np.testing.assert_array_equal(read_preview(upload), image.rgb)
    again = Upload.from_json(json.loads(json.dumps(upload.to_json())))
    assert again == upload
    discard({"upload": upload.to_json()})
    assert not os.path.exists(upload.workdir)
    with pytest.raises(ImageError, match="expired"):
        read_preview(upload)


def test_export_renders_only_the_regions_left_on_and_strips_metadata(exif_photo, workroot, registry):
    upload, image = open_upload(exif_photo)
    review = Review.from_detection(detect(image.rgb, ["faces"], registry=registry))
    largest = int(np.argmax(review.regions.widths * review.regions.heights))
    review = review.with_label(None, True).toggled(largest)  # every face on but the main one
    done = export(upload, review, Settings.parse(["faces"], style=Style(method="fill", colour=(255, 0, 0)),
                                                  format="png"), registry)
    assert done.image.name == "phone_photo-anonymised.png" and workroot in done.image.parents
    out = load_image(done.image.read_bytes())
    assert out.metadata_found == {} and out.format == "PNG"
    x0, y0, x1, y1 = review.regions.boxes[largest].astype(int)
    np.testing.assert_array_equal(out.pixels[y0 + 5:y1 - 5, x0 + 5:x1 - 5], image.pixels[y0 + 5:y1 - 5, x0 + 5:x1 - 5])
    others = [i for i in range(len(review)) if i != largest]
    for i in others:
        cx, cy = ((review.regions.boxes[i][:2] + review.regions.boxes[i][2:]) / 2).astype(int)
        assert tuple(out.pixels[cy, cx]) == (255, 0, 0)
    report = json.loads(done.report.read_text())
    assert report["source"] == "phone_photo.jpg" and report["metadata_removed"]["camera_make"] == "TestCam"
    assert [r["selected"] for r in report["regions"]] == review.selected.tolist()
    finding = {f["region_id"]: f["reason"] for f in report["privacy_check"]["findings"]}
    assert finding.get(str(review.regions.ids[largest])) == "turned off"
    with Image.open(io.BytesIO(done.image.read_bytes())) as im:
        assert not im.info.get("exif")


def test_old_session_folders_are_swept(workroot):
    fresh, stale = workroot / "fresh", workroot / "stale"
    for folder in (fresh, stale):
        folder.mkdir(parents=True)
        (folder / "preview.png").write_bytes(b"x")
    old = time.time() - session.KEEP_SECONDS - 10
    os.utime(stale, (old, old))
    sweep()
    assert fresh.exists() and not stale.exists()


@pytest.fixture
def photo_in_use(exif_photo, workroot, tmp_path):
    """An upload as the app holds it: the raw file in Gradio's cache (a copy here) and the session's folder."""
    cached = tmp_path / "gradio" / "abc" / exif_photo.name
    cached.parent.mkdir(parents=True)
    cached.write_bytes(exif_photo.read_bytes())
    upload, _ = open_upload(cached)
    return upload


def test_a_photo_in_use_is_kept_keep_seconds_after_its_last_use(photo_in_use):
    keep, arrived = session.KEEP_SECONDS, photo_in_use.arrived
    workdir = Path(photo_in_use.workdir)
    touch(photo_in_use, now=arrived + 0.8 * keep)  # a request late in the first KEEP_SECONDS
    sweep(now=arrived + 1.5 * keep)  # arrived longer ago than KEEP_SECONDS, used less long ago
    assert workdir.is_dir() and os.path.getmtime(photo_in_use.path) == arrived + 0.8 * keep
    sweep(now=arrived + 1.9 * keep)  # unused for longer than KEEP_SECONDS
    assert not workdir.exists()


def test_use_renews_the_ctime_gradio_ages_its_cached_upload_and_served_preview_by(photo_in_use):
    served = save_file_to_cache(photo_in_use.preview, get_upload_folder())  # as when Gradio sends the preview
    before = [os.stat(path).st_ctime_ns for path in (photo_in_use.path, served)]
    time.sleep(0.05)
    touch(photo_in_use)
    after = [os.stat(path).st_ctime_ns for path in (photo_in_use.path, served)]
    assert after[0] > before[0] and after[1] > before[1]


def test_use_cannot_keep_a_photo_past_max_keep_seconds(photo_in_use):
    keep, most, arrived = session.KEEP_SECONDS, session.MAX_KEEP_SECONDS, photo_in_use.arrived
    assert keep < most
    steps = np.arange(arrived, arrived + 2 * most, keep / 2)
    for now in steps:  # in use every KEEP_SECONDS / 2, for twice the bound
        touch(photo_in_use, now=now)
        sweep(now=now)
        if not os.path.exists(photo_in_use.workdir):
            break
    assert arrived + most - keep < now <= arrived + most + keep / 2  # gone at the bound (swept every KEEP / 2)
    assert os.path.getmtime(photo_in_use.path) <= arrived + most - keep


def test_gradio_leftover_tmp_files_older_than_keep_seconds_are_swept(workroot, tmp_path):
    gradio_folder = tmp_path / "gradio"
    cached = gradio_folder / "0f3a" / "photo.jpg"  # Gradio's cache: expired by Gradio itself, not here
    cached.parent.mkdir(parents=True)
    for path in (old := gradio_folder / "tmpab12cd", fresh := gradio_folder / "tmpzz99yy", cached):
        path.write_bytes(b"")
    elsewhere = tmp_path / "tmpnot-gradio"  # the same name outside Gradio's folder is not the app's
    elsewhere.write_bytes(b"")
    long_ago = time.time() - session.KEEP_SECONDS - 10
    for path in (old, cached, elsewhere):
        os.utime(path, (long_ago, long_ago))
    sweep()
    assert not old.exists() and fresh.exists() and cached.exists() and elsewhere.exists()


def test_files_gradio_cached_for_the_app_are_swept_even_when_its_own_cleaning_has_stopped(tmp_path):
    """What the app received or served, older than KEEP_SECONDS, goes; its own cached examples stay; a file
    already gone leaves the set; the sets are read from snapshots, so requests may add files meanwhile."""
    import gradio as gr

    with gr.Blocks() as blocks:
        example = gr.Image(str(Path(__file__).resolve().parents[2] / "examples" / "grace_hopper.jpg"))
    paths = {name: tmp_path / f"{name}.jpg" for name in ("upload", "output", "gone")}
    for path in paths.values():
        path.write_bytes(b"x")
    paths["gone"].unlink()
    blocks.temp_file_sets.append({str(p) for p in paths.values()})
    kept = set(example.keep_in_cache)
    assert kept and all(os.path.exists(p) for p in kept)  # Gradio cached the example for the page
    blocks.temp_file_sets.append(set(kept))
    now = time.time()
    assert session.sweep_served(blocks, cutoff=now - 60) == 0  # all just made
    assert session.sweep_served(blocks, cutoff=now + 60) == 2  # as if KEEP_SECONDS had passed
    assert not paths["upload"].exists() and not paths["output"].exists()
    assert all(os.path.exists(p) for p in kept)
    assert blocks.temp_file_sets[-2] == set()
