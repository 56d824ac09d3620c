"""One user's photo in the app: where its files are, its preview, and its full-size export.

A session keeps paths and small JSON, never full-size pixels: the upload stays where the web framework put
it (read again only to detect and to export), the preview is a small PNG without metadata in the session's
own folder, and folders unused for KEEP_SECONDS are swept away, so nobody's photo outlives its session. Each
request refreshes that deadline (`touch`), but never past MAX_KEEP_SECONDS after the photo arrived.
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import json
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from gradio.processing_utils import hash_file
from gradio.utils import get_upload_folder

from anonymiser.batch import output_name
from anonymiser.images import ImageError, LoadedImage, encode_image, load_image, write_atomic
from anonymiser.privacy_check import PrivacyCheck, anonymise_checked
from anonymiser.settings import Settings
from detectors.registry import Registry
from webapp.preview import downscaled
from webapp.review import Review

KEEP_SECONDS = int(os.environ.get("ANONYMISER_KEEP_SECONDS", 1800))  # uploads, previews, outputs: deleted after
MAX_KEEP_SECONDS = max(KEEP_SECONDS, int(os.environ.get("ANONYMISER_MAX_KEEP_SECONDS", 4 * KEEP_SECONDS)))  # in use
SWEEP_SECONDS = max(1, min(300, KEEP_SECONDS // 4))  # how often to look for them
log = logging.getLogger("anonymiser.app")
WORK_ROOT = Path(os.environ.get("ANONYMISER_WORK_DIR", Path(tempfile.gettempdir()) / "image-anonymiser"))


@dataclass
class Upload:
    path: str  # the raw upload (EXIF and all); read, never served back
    name: str  # the file name the user gave, for output names and the report
    workdir: str  # this photo's folder: preview and outputs
    preview: str  # downscaled, EXIF-oriented PNG without metadata
    scale: float  # preview pixels per image pixel
    size: tuple[int, int]  # width, height of the oriented image
    format: str
    metadata: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    arrived: float = 0.0  # time.time() when it was opened: bounds how long use can keep it

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Upload:
        return cls(**{**data, "size": tuple(data["size"])})


@dataclass
class Export:
    image: Path
    report: Path
    check: PrivacyCheck
    report_data: dict[str, Any]


_CREATED: set[Path] = set()  # this process's folders, removed at exit


def new_workdir() -> Path:
    """A fresh private folder under WORK_ROOT (old ones are swept first)."""
    sweep()
    path = WORK_ROOT / uuid.uuid4().hex
    path.mkdir(parents=True, mode=0o700)
    _CREATED.add(path)
    return path


def sweep(max_age: float = KEEP_SECONDS, now: float | None = None, blocks: Any = None) -> None:
    """Delete session folders untouched for `max_age` seconds (closed tabs, API calls, crashed runs), the
    `tmp*` files Gradio's upload parser leaves behind in its temporary folder (this app's GRADIO_TEMP_DIR), and
    the files `blocks` (the app) received or served that are as old (see `sweep_served`)."""
    cutoff = (time.time() if now is None else now) - max_age
    if blocks is not None:
        sweep_served(blocks, cutoff)
    if WORK_ROOT.is_dir():
        for folder in WORK_ROOT.iterdir():
            with contextlib.suppress(OSError):
                if folder.is_dir() and folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
    gradio_folder = Path(get_upload_folder())
    if gradio_folder.is_dir():
        for leftover in gradio_folder.glob("tmp*"):
            with contextlib.suppress(OSError):
                if leftover.is_file() and leftover.stat().st_mtime < cutoff:
                    leftover.unlink()


def sweep_served(blocks: Any, cutoff: float) -> int:
    """Delete the files Gradio cached for the app (uploads, served outputs) last changed before `cutoff`, by
    ctime as `touch` renews it; the app's own cached files (examples) stay. Gradio's `delete_cache` does the
    same, but it iterates its sets of files while request threads add to them: one "set changed size during
    iteration" ends it for the life of the server (seen in a 15-minute soak: files kept 400 s and counting with
    a 120 s retention). This works on snapshots, so it can run beside it. Returns how many files it deleted."""
    keep: set[str] = set()
    for component in list(blocks.blocks.values()):
        keep.update(getattr(component, "keep_in_cache", ()))
    deleted = 0
    for cached in list(blocks.temp_file_sets):
        for path in list(cached):
            if path in keep:
                continue
            try:
                if os.lstat(path).st_ctime < cutoff:
                    os.remove(path)
                    deleted += 1
                    cached.discard(path)
            except FileNotFoundError:
                cached.discard(path)
            except OSError:
                continue  # tried again at the next sweep
    return deleted


def touch(upload: Upload, now: float | None = None) -> None:
    """A request used this photo: its upload, its folder and the copy of its preview Gradio served (which the
    box and paint widgets send back) are kept KEEP_SECONDS from now (Gradio ages its files by ctime, which any
    utime renews), unless that would keep them past MAX_KEEP_SECONDS after arrival."""
    now = time.time() if now is None else now
    if now + KEEP_SECONDS > upload.arrived + MAX_KEEP_SECONDS:
        return
    with contextlib.suppress(OSError):  # Gradio's cache layout: folder named by the file's hash, then its name
        served = Path(get_upload_folder()) / hash_file(upload.preview) / Path(upload.preview).name
        for path in (upload.path, upload.workdir, served):
            with contextlib.suppress(OSError):
                os.utime(path, (now, now))


def keep_sweeping(every: float = SWEEP_SECONDS, blocks: Any = None) -> threading.Thread:
    """Sweep in the background (the files `blocks` cached too), so an idle server does not keep old photos
    until its next visitor."""
    def run() -> None:
        while True:
            time.sleep(every)
            try:
                sweep(blocks=blocks)
            except Exception:  # a failed sweep must not end the sweeping: the next one tries again
                log.exception("sweep failed")

    thread = threading.Thread(target=run, name="sweep-sessions", daemon=True)
    thread.start()
    return thread


def keep_text(seconds: int = KEEP_SECONDS) -> str:
    """The retention time in words, for the page."""
    return f"{seconds // 60} minutes" if seconds >= 120 else f"{seconds} seconds"


@atexit.register
def _remove_created() -> None:
    for folder in _CREATED:
        shutil.rmtree(folder, ignore_errors=True)


def discard(state: dict[str, Any] | None) -> None:
    """Remove a session's folder (the app's State delete_callback)."""
    if state and state.get("upload"):
        shutil.rmtree(state["upload"]["workdir"], ignore_errors=True)


def read_upload(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise ImageError("the uploaded file has expired on the server; please upload it again") from None


def open_upload(path: str | Path, name: str | None = None) -> tuple[Upload, LoadedImage]:
    """Decode an upload (EXIF orientation applied) and write its preview; raises ImageError for bad files."""
    image = load_image(read_upload(path))
    workdir = new_workdir()
    small, scale = downscaled(image.pixels)
    preview = workdir / "preview.png"
    write_atomic(preview, encode_image(small, "PNG"))
    height, width = image.pixels.shape[:2]
    upload = Upload(str(path), name or Path(path).name, str(workdir), str(preview), scale, (width, height),
                    image.format, image.metadata_found, image.notes, time.time())
    return upload, image


def read_pixels(upload: Upload) -> LoadedImage:
    return load_image(read_upload(upload.path))


def read_preview(upload: Upload) -> np.ndarray:
    """The preview's RGB pixels (read-only)."""
    if not os.path.exists(upload.preview):
        raise ImageError("this photo's preview has expired on the server; please upload it again")
    return decoded_preview(upload.preview)


@functools.lru_cache(maxsize=16)  # a few MB each: toggles re-render without decoding the PNG again
def decoded_preview(path: str) -> np.ndarray:
    pixels = cv2.imread(path, cv2.IMREAD_COLOR)
    if pixels is None:
        raise ImageError("this photo's preview cannot be read; please upload it again")
    rgb = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
    rgb.flags.writeable = False
    return rgb


def export(upload: Upload, review: Review, settings: Settings, registry: Registry) -> Export:
    """Render the reviewed regions at full size, write the file (no metadata) and its report, and check it."""
    outcome, check = anonymise_checked(read_upload(upload.path), settings, registry, source=upload.name,
                                       detection=review.detection())
    folder = Path(upload.workdir) / uuid.uuid4().hex[:8]  # each export keeps clean names without clashes
    image_path = folder / output_name(upload.name, outcome.extension)
    write_atomic(image_path, outcome.data)
    report_path = image_path.with_suffix(".json")
    write_atomic(report_path, json.dumps(outcome.report, indent=1).encode())
    return Export(image_path, report_path, check, outcome.report)
