"""The opt-in feedback store: photos users chose to share, with the regions they corrected, for retraining.

Off unless `ANONYMISER_FEEDBACK_DIR` names a folder. Nothing is stored without the user's consent (`save`
refuses), photos are stored re-encoded from their pixels (no EXIF, GPS, thumbnail or XMP) beside a SQLite
database in WAL mode (readers never block the writer), and an admin can list, export (COCO + zip) and delete.
The admin tab exists only when `ANONYMISER_ADMIN_PASSWORD` is set: there is no default password.
"""
from __future__ import annotations

import contextlib
import hmac
import json
import math
import os
import sqlite3
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from anonymiser import __version__
from anonymiser.images import encode_image, load_image, write_atomic
from webapp.review import MANUAL, Review

FEEDBACK_DIR_ENV = "ANONYMISER_FEEDBACK_DIR"
ADMIN_PASSWORD_ENV = "ANONYMISER_ADMIN_PASSWORD"

CONSENT_TEXT = (
    "Share this photo to help improve detection (optional). If you tick this box and send, we store the "
    "original photo you uploaded, without anonymisation (faces, plates and text visible) but with its hidden "
    "metadata removed (no location, camera or date), together with the regions you corrected (areas you drew "
    "because a face or plate was missed, detections you turned off) and your comment. They are used only to "
    "test and retrain this tool's detectors, are seen only by its administrators, and can be deleted on "
    "request. Only share photos you have the right to share. Nothing is stored unless you tick this box."
)

ADMIN_COLUMNS = ["id", "created", "size", "regions", "drawn by user", "turned off", "comment"]
MAX_COMMENT = 2000
MAX_REGIONS = 2000
MAX_CORRECTIONS_BYTES = 200_000
SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    image_file TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    regions TEXT NOT NULL,
    corrections TEXT NOT NULL,
    comment TEXT NOT NULL,
    consent_text TEXT NOT NULL,
    tool_version TEXT NOT NULL
)"""


class ConsentRequired(PermissionError):
    """`save` was called without the user's consent: nothing was stored."""


@dataclass(frozen=True)
class Entry:
    id: str
    created: str
    image_path: Path
    width: int
    height: int
    regions: list[dict[str, Any]]
    corrections: dict[str, Any]
    comment: str

    def summary(self) -> dict[str, Any]:
        """One row of the admin list."""
        kept = sum(r["selected"] for r in self.regions)
        drawn = sum(r["selected"] and r["detector"] == MANUAL for r in self.regions)
        return {"id": self.id, "created": self.created, "size": f"{self.width}x{self.height}",
                "regions": kept, "drawn by user": drawn, "turned off": len(self.regions) - kept,
                "comment": self.comment}


def store_from_env() -> FeedbackStore | None:
    """The store in `ANONYMISER_FEEDBACK_DIR`, or None (feedback off) when it is unset or empty."""
    folder = os.environ.get(FEEDBACK_DIR_ENV, "").strip()
    return FeedbackStore(Path(folder)) if folder else None


def admin_password_ok(given: str | None) -> bool:
    """True only when an admin password is set in the environment and `given` matches it."""
    expected = os.environ.get(ADMIN_PASSWORD_ENV, "")
    return bool(expected) and hmac.compare_digest((given or "").encode(), expected.encode())


class FeedbackStore:
    """Entries in `folder`/feedback.sqlite3, their photos in `folder`/images (created readable by the owner only)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.images = self.folder / "images"
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.images.mkdir(exist_ok=True, mode=0o700)
        self.database = self.folder / "feedback.sqlite3"
        self.database.touch(mode=0o600, exist_ok=True)  # SQLite gives its -wal and -shm files the same mode
        with self.connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(SCHEMA)

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection per call (the app's worker threads share the store), committed on success."""
        db = sqlite3.connect(self.database, timeout=10)
        try:
            with db:
                yield db
        finally:
            db.close()

    def journal_mode(self) -> str:
        with self.connect() as db:
            return db.execute("PRAGMA journal_mode").fetchone()[0]

    def save(self, consent: bool, image: bytes, regions: list[dict[str, Any]],
             corrections: dict[str, Any] | None = None, comment: str = "") -> str:
        """Store one shared photo with its corrected regions; returns the entry's id.

        `regions` are the final regions in the (EXIF-oriented) image's pixels, like `Regions.to_json()` rows
        plus `selected` (False for detections the user turned off) and `detector` ("manual" for drawn ones).
        Raises ConsentRequired without consent, anonymiser.images.ImageError for an unusable photo and
        ValueError for malformed regions, before anything is written.
        """
        if consent is not True:
            raise ConsentRequired("nothing was stored: sharing needs the consent box ticked")
        loaded = load_image(image)
        height, width = loaded.pixels.shape[:2]
        rows = clean_regions(regions, width, height)
        corrections_json = json.dumps(corrections or {}, allow_nan=False)
        if len(corrections_json) > MAX_CORRECTIONS_BYTES:
            raise ValueError(f"corrections are over {MAX_CORRECTIONS_BYTES} bytes")
        comment = str(comment or "").strip()[:MAX_COMMENT]
        fmt = "JPEG" if loaded.format == "JPEG" else "PNG"  # re-encoded from pixels: no metadata survives
        entry_id = uuid.uuid4().hex
        image_file = f"{entry_id}.{'jpg' if fmt == 'JPEG' else 'png'}"
        write_atomic(self.images / image_file, encode_image(loaded.pixels, fmt, grey=loaded.grey), mode=0o600)
        try:
            with self.connect() as db:
                db.execute("INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (entry_id, datetime.now(UTC).isoformat(timespec="seconds"), image_file, width, height,
                            json.dumps(rows), corrections_json, comment, CONSENT_TEXT, __version__))
        except BaseException:
            (self.images / image_file).unlink(missing_ok=True)
            raise
        return entry_id

    def entries(self) -> list[Entry]:
        """All entries, newest first."""
        return self._select("ORDER BY created DESC, rowid DESC")

    def get(self, entry_id: str) -> Entry | None:
        found = self._select("WHERE id = ?", (entry_id,))
        return found[0] if found else None

    def _select(self, clause: str, parameters: tuple = ()) -> list[Entry]:
        with self.connect() as db:
            rows = db.execute("SELECT id, created, image_file, width, height, regions, corrections, comment "
                              f"FROM feedback {clause}", parameters).fetchall()
        return [Entry(r[0], r[1], self.images / r[2], r[3], r[4], json.loads(r[5]), json.loads(r[6]), r[7])
                for r in rows]

    def delete(self, entry_id: str) -> bool:
        """Remove an entry and its photo; False if there was no such entry."""
        with self.connect() as db:
            row = db.execute("SELECT image_file FROM feedback WHERE id = ?", (entry_id,)).fetchone()
            if row is None:
                return False
            db.execute("DELETE FROM feedback WHERE id = ?", (entry_id,))
        (self.images / row[0]).unlink(missing_ok=True)
        return True

    def export_coco(self) -> dict[str, Any]:
        """COCO detection annotations of every entry: the regions the user kept or drew are the objects;
        the detections they turned off are listed per image as `rejected_regions` (hard negatives)."""
        entries = self.entries()
        labels = sorted({r["label"] for e in entries for r in e.regions if r["selected"]})
        category = {label: i for i, label in enumerate(labels, start=1)}
        images, annotations = [], []
        for image_id, entry in enumerate(entries, start=1):
            images.append({"id": image_id, "file_name": entry.image_path.name, "width": entry.width,
                           "height": entry.height, "date_captured": entry.created, "feedback_id": entry.id,
                           "comment": entry.comment, "rejected_regions": [
                               {"label": r["label"], "bbox": coco_bbox(r["box"])}
                               for r in entry.regions if not r["selected"]]})
            for r in entry.regions:
                if not r["selected"]:
                    continue
                x, y, w, h = coco_bbox(r["box"])
                polygon = [round(v, 2) for point in r.get("polygon") or [] for v in point]
                annotations.append({"id": len(annotations) + 1, "image_id": image_id,
                                    "category_id": category[r["label"]], "bbox": [x, y, w, h],
                                    "area": round(w * h, 2), "iscrowd": 0,
                                    "segmentation": [polygon] if len(polygon) >= 6 else [],
                                    "source": "user" if r["detector"] == MANUAL else r["detector"]})
        return {"info": {"description": "Image Anonymiser feedback: regions corrected by users",
                         "version": __version__, "date_created": datetime.now(UTC).isoformat(timespec="seconds")},
                "licenses": [], "images": images, "annotations": annotations,
                "categories": [{"id": i, "name": label, "supercategory": "private"} for label, i in category.items()]}

    def admin_rows(self) -> list[list[Any]]:
        """The admin tab's list: one row of ADMIN_COLUMNS per entry, newest first."""
        return [[e.summary()[c] for c in ADMIN_COLUMNS] for e in self.entries()]

    def export_to(self, folder: Path) -> tuple[Path, Path]:
        """annotations.json (COCO) and feedback.zip (the same plus the photos) in `folder`."""
        coco = folder / "annotations.json"
        write_atomic(coco, json.dumps(self.export_coco(), indent=1).encode(), mode=0o600)
        return coco, self.export_zip(folder / "feedback.zip")

    def export_zip(self, target: Path) -> Path:
        """Write `target`: annotations.json (COCO; `file_name`s are relative to images/) and images/<file>."""
        coco = self.export_coco()
        part = target.with_name(f".{target.name}.part")
        with zipfile.ZipFile(part, "w") as archive:
            archive.writestr("annotations.json", json.dumps(coco, indent=1), compress_type=zipfile.ZIP_DEFLATED)
            for image in coco["images"]:
                archive.write(self.images / image["file_name"], f"images/{image['file_name']}")
        os.replace(part, target)
        return target


def review_feedback(review: Review) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """What `save` takes from a user's review: every region with `selected` (drawn ones have detector
    "manual"), and what the user changed from the default selection, by region id."""
    rows = review.to_json()["regions"]
    for row, on in zip(rows, review.selected.tolist(), strict=True):
        row.pop("mask_rle", None)  # full-size masks are large; the box (and polygon, if any) is kept
        row["selected"] = on
    drawn = [r["detector"] == MANUAL for r in rows]
    ids = [str(i) for i in review.regions.ids]
    corrections = {
        "drawn": [i for i, d in zip(ids, drawn, strict=True) if d],
        "turned_off": [i for i, d, on, hint in zip(ids, drawn, review.selected, review.suggested, strict=True)
                       if not d and not on and not hint],
        "suggestions_turned_on": [i for i, on, hint in zip(ids, review.selected, review.suggested, strict=True)
                                  if on and hint],
        "models": review.models,
    }
    return rows, corrections


def coco_bbox(box: list[float]) -> list[float]:
    x0, y0, x1, y1 = box
    return [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)]


def clean_regions(regions: list[dict[str, Any]], width: int, height: int) -> list[dict[str, Any]]:
    """Validated rows (label, box clipped to the image, selected, detector, optional polygon and score);
    rows with no area inside the image (e.g. a zero-size box drawn by a click) are dropped."""
    if not isinstance(regions, list) or len(regions) > MAX_REGIONS:
        raise ValueError(f"regions must be a list of at most {MAX_REGIONS} objects")
    rows = []
    for i, region in enumerate(regions):
        try:
            label = str(region["label"]).strip()[:64]
            x0, y0, x1, y1 = (float(v) for v in region["box"])
            polygon = [[float(x), float(y)] for x, y in region.get("polygon") or []]
            score = float(region.get("score", 1.0))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"region {i}: needs a label and a box [x0, y0, x1, y1] ({exc})") from None
        numbers = [x0, y0, x1, y1, score, *(v for point in polygon for v in point)]
        if not label or not all(math.isfinite(v) for v in numbers):
            raise ValueError(f"region {i}: empty label or a coordinate that is not a number")
        x0, x1 = sorted((min(max(x0, 0.0), width), min(max(x1, 0.0), width)))
        y0, y1 = sorted((min(max(y0, 0.0), height), min(max(y1, 0.0), height)))
        if x1 - x0 <= 0 or y1 - y0 <= 0:
            continue
        row = {"id": str(region.get("id", ""))[:64], "label": label, "box": [x0, y0, x1, y1],
               "selected": bool(region.get("selected", True)), "detector": str(region.get("detector", MANUAL))[:64],
               "score": score}
        if polygon:
            row["polygon"] = polygon
        rows.append(row)
    return rows
