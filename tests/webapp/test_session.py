import io
import json
import os
import time

import numpy as np
import pytest
from PIL import Image

from anonymiser.images import ImageError, load_image
from anonymiser.settings import Settings
from anonymiser.style import Style
from detectors.engine import detect
from webapp import session
from webapp.review import Review
from webapp.session import Upload, discard, export, open_upload, read_preview, sweep


@pytest.fixture
def workroot(tmp_path, monkeypatch):
    monkeypatch.setattr(session, "WORK_ROOT", tmp_path / "work")
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
