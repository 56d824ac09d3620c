import io
import json
import sqlite3
import threading
import zipfile

import numpy as np
import pytest
from PIL import Image

from anonymiser.images import ImageError
from anonymiser.pipeline import anonymise_bytes
from anonymiser.settings import Settings
from tests.anonymiser.test_hostile_inputs import assert_no_metadata, photo_with_metadata
from webapp.feedback import (
    ADMIN_PASSWORD_ENV,
    CONSENT_TEXT,
    FEEDBACK_DIR_ENV,
    ConsentRequired,
    admin_password_ok,
    store_from_env,
)


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv(FEEDBACK_DIR_ENV, str(tmp_path / "feedback"))
    return store_from_env()


def corrected_regions(data: bytes) -> list[dict]:
    """What the app sends: detections (one turned off) plus boxes the user drew, one by a mere click."""
    rows = anonymise_bytes(data, Settings.parse("faces")).detection.regions.to_json()
    assert rows, "the photo should have a detected face"
    for row in rows:
        row["selected"] = True
    rows[0]["selected"] = False  # a false positive the user turned off
    return rows + [{"label": "face", "box": [30, 20, 5, 2], "detector": "manual"},  # drawn right to left
                   {"label": "plate", "box": [-10, 100, 40, 130], "detector": "manual"},  # partly outside
                   {"label": "face", "box": [50, 50, 50, 50], "detector": "manual"}]  # a click: no area


def stored_files(store) -> list:
    return sorted(p for p in store.folder.rglob("*") if p.is_file() and not p.name.startswith("feedback.sqlite3"))


def row_count(store) -> int:
    with sqlite3.connect(store.database) as db:
        return db.execute("SELECT count(*) FROM feedback").fetchone()[0]


def test_feedback_is_off_without_the_environment_variable(monkeypatch):
    monkeypatch.delenv(FEEDBACK_DIR_ENV, raising=False)
    assert store_from_env() is None
    monkeypatch.setenv(FEEDBACK_DIR_ENV, "  ")
    assert store_from_env() is None


def test_the_consent_text_says_what_is_stored_and_why():
    for words in ("original photo", "regions you corrected", "retrain", "Nothing is stored unless you tick"):
        assert words in CONSENT_TEXT


@pytest.mark.parametrize("consent", [False, None, 1, "yes", "true"])
def test_nothing_is_stored_without_consent(store, eval_dir, consent):
    data = (eval_dir / "images" / "mpl_grace_hopper.jpg").read_bytes()
    with pytest.raises(ConsentRequired):
        store.save(consent, data, [{"label": "face", "box": [1, 1, 9, 9]}], {"added": 1}, "hello")
    assert row_count(store) == 0 and stored_files(store) == [] and store.entries() == []


def test_a_shared_photo_is_stored_without_metadata_with_its_corrected_regions(store, eval_dir):
    data = (eval_dir / "images" / "mpl_grace_hopper.jpg").read_bytes()
    regions = corrected_regions(data)
    entry_id = store.save(True, data, regions, {"turned_off": [regions[0]["id"]], "drawn": 3}, "missed her badge")
    (entry,) = store.entries()
    assert entry.id == entry_id and store.get(entry_id) == entry and entry.comment == "missed her badge"
    assert entry.corrections == {"turned_off": [regions[0]["id"]], "drawn": 3}
    assert [r["box"] for r in entry.regions if r["detector"] == "manual"] == [[5, 2, 30, 20], [0, 100, 40, 130]]
    assert [r["selected"] for r in entry.regions].count(False) == 1
    stored = Image.open(entry.image_path)
    assert stored.size == (entry.width, entry.height) == Image.open(io.BytesIO(data)).size
    assert_no_metadata(entry.image_path.read_bytes())
    assert entry.image_path.stat().st_mode & 0o077 == 0  # readable by the owner only
    with sqlite3.connect(store.database) as db:
        assert db.execute("SELECT consent_text FROM feedback").fetchone()[0] == CONSENT_TEXT


def test_the_stored_photo_is_oriented_and_stripped(store):
    data = photo_with_metadata("JPEG", orientation=6)  # GPS, thumbnail, XMP, comment, rotated 90 degrees
    store.save(True, data, [{"label": "face", "box": [2, 3, 20, 30]}])
    (entry,) = store.entries()
    assert (entry.width, entry.height) == (48, 64)  # regions refer to the upright photo
    assert_no_metadata(entry.image_path.read_bytes())


@pytest.mark.parametrize("image, regions, error", [
    (b"not a photo", [], ImageError),
    (None, [{"label": "face", "box": [0, 0, float("nan"), 4]}], ValueError),
    (None, [{"label": "face"}], ValueError),
    (None, [{"label": "", "box": [0, 0, 4, 4]}], ValueError),
    (None, "face", ValueError),
])
def test_bad_input_stores_nothing(store, image, regions, error):
    data = image or photo_with_metadata("PNG")
    with pytest.raises(error):
        store.save(True, data, regions)
    assert row_count(store) == 0 and stored_files(store) == []


def test_an_entry_can_be_deleted(store):
    first = store.save(True, photo_with_metadata("PNG"), [{"label": "face", "box": [1, 1, 9, 9]}])
    second = store.save(True, photo_with_metadata("JPEG"), [{"label": "plate", "box": [2, 2, 20, 9]}])
    path = store.get(first).image_path
    assert store.delete(first)
    assert not path.exists() and store.get(first) is None
    assert [e.id for e in store.entries()] == [second]
    assert not store.delete(first) and not store.delete("no-such-id")


def test_coco_export_and_zip(store, eval_dir, tmp_path):
    data = (eval_dir / "images" / "mpl_grace_hopper.jpg").read_bytes()
    regions = corrected_regions(data)
    store.save(True, data, regions, {}, "one")
    store.save(True, photo_with_metadata("PNG"), [{"label": "plate", "box": [2, 2, 20, 9], "detector": "manual",
                                                   "polygon": [[2, 2], [20, 2], [20, 9], [2, 9]]}])
    coco = store.export_coco()
    images = {im["id"]: im for im in coco["images"]}
    categories = {c["id"]: c["name"] for c in coco["categories"]}
    assert len(images) == 2 and set(categories.values()) == {"face", "plate"}
    assert len({a["id"] for a in coco["annotations"]}) == len(coco["annotations"])
    for ann in coco["annotations"]:
        image = images[ann["image_id"]]
        x, y, w, h = ann["bbox"]
        assert ann["category_id"] in categories and w > 0 and h > 0 and ann["iscrowd"] == 0
        assert min(x, y) >= 0 and x + w <= image["width"] + 0.01 and y + h <= image["height"] + 0.01
        assert ann["area"] == pytest.approx(w * h, abs=0.01)
    kept = sum(r.get("selected", True) for r in regions) - 1  # the click with no area is dropped
    assert len(coco["annotations"]) == kept + 1
    hopper = next(im for im in images.values() if im["comment"] == "one")
    assert len(hopper["rejected_regions"]) == 1
    assert any(a["segmentation"] == [[2, 2, 20, 2, 20, 9, 2, 9]] for a in coco["annotations"])
    json.dumps(coco, allow_nan=False)

    archive = store.export_zip(tmp_path / "feedback.zip")
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
        assert names == {"annotations.json"} | {f"images/{im['file_name']}" for im in images.values()}
        exported = json.loads(zf.read("annotations.json"))
        assert exported["annotations"] == coco["annotations"]
        for im in images.values():
            pixels = Image.open(io.BytesIO(zf.read(f"images/{im['file_name']}")))
            assert pixels.size == (im["width"], im["height"])


def test_the_database_is_in_wal_mode_and_takes_concurrent_saves(store):
    assert store.journal_mode() == "wal"
    data = photo_with_metadata("PNG")
    errors = []

    def share() -> None:
        try:
            store.save(True, data, [{"label": "face", "box": [1, 1, 9, 9]}])
        except Exception as exc:  # collected: a thread's exception would otherwise be lost
            errors.append(exc)

    threads = [threading.Thread(target=share) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(store.entries()) == 8 and len(list(store.images.iterdir())) == 8


def test_the_admin_password_has_no_default(monkeypatch):
    monkeypatch.delenv(ADMIN_PASSWORD_ENV, raising=False)
    assert not admin_password_ok("") and not admin_password_ok(None) and not admin_password_ok("admin")
    monkeypatch.setenv(ADMIN_PASSWORD_ENV, "correct horse")
    assert admin_password_ok("correct horse")
    assert not admin_password_ok("correct horse ") and not admin_password_ok("") and not admin_password_ok(None)


def test_a_grey_photo_stays_grey(store):
    buf = io.BytesIO()
    Image.fromarray(np.full((20, 30), 90, np.uint8)).save(buf, "PNG")
    store.save(True, buf.getvalue(), [])
    assert Image.open(store.entries()[0].image_path).mode == "L"
