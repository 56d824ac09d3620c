"""Shared fixtures: the dev set in ../shared/eval, the project's examples, and one registry per session."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.common import free_port

ROOT = Path(__file__).resolve().parents[1]
EVAL_DIR = ROOT.parent / "shared" / "eval"
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def eval_dir() -> Path:
    if not (EVAL_DIR / "annotations.json").is_file():
        pytest.fail(f"the dev set is expected at {EVAL_DIR} (CI checks it out beside the project)")
    return EVAL_DIR


@pytest.fixture(scope="session")
def annotations(eval_dir: Path) -> dict[str, dict]:
    """Ground truth by file name."""
    data = json.loads((eval_dir / "annotations.json").read_text())
    return {rec["file"]: rec for rec in data["images"]}


@pytest.fixture(scope="session")
def eval_image(eval_dir: Path):
    """Loader: file name in the dev set -> RGB uint8 array."""
    def load(name: str) -> np.ndarray:
        with Image.open(eval_dir / "images" / name) as im:
            return np.asarray(im.convert("RGB"))
    return load


@pytest.fixture(scope="session")
def registry():
    from detectors.registry import default_registry

    return default_registry()


def gt_boxes(record: dict, label: str, hard: bool | None = False) -> np.ndarray:
    """Ground-truth boxes of one label; `hard=None` keeps hard ones too."""
    boxes = [o["box"] for o in record["objects"]
             if o["label"] == label and (hard is None or bool(o.get("hard")) == hard)]
    return np.asarray(boxes, dtype=np.float32).reshape(-1, 4)


def missed_on(name: str, kind: str, label: str, least_iou: float, eval_image, annotations, registry) -> tuple:
    """(the non-hard `label` boxes of dev photo `name` that no selected region of `kind` matches at IoU
    `least_iou`, the selected regions); also checks the photo has some such boxes."""
    from detectors.engine import detect
    from detectors.geometry import iou

    result = detect(eval_image(name), kind, registry=registry)
    found = result.regions[result.selected]
    truth = gt_boxes(annotations[name], label)
    assert len(truth), f"{name} has no {label} to find"
    best = iou(truth, found.boxes).max(axis=1) if len(found) else np.zeros(len(truth))
    return truth[best < least_iou].tolist(), found


def found_by(truth: np.ndarray, boxes: np.ndarray, least_iou: float = 0.3, cover: float = 0.7) -> np.ndarray:
    """Which ground-truth boxes a detector found: IoU >= `least_iou` with one box, or >= `cover` of the box's area
    under the union of boxes (text may come back as words where the truth is a line, or the reverse)."""
    from detectors.geometry import iou

    hit = np.zeros(len(truth), dtype=bool)
    for i, (x0, y0, x1, y1) in enumerate(np.floor(truth).astype(int)):
        if len(boxes) and iou(truth[i:i + 1], boxes).max() >= least_iou:
            hit[i] = True
            continue
        grid = np.zeros((max(y1 - y0, 1), max(x1 - x0, 1)), dtype=bool)
        for bx0, by0, bx1, by1 in np.round(boxes - [x0, y0, x0, y0]).astype(int).clip(0):
            grid[by0:by1, bx0:bx1] = True
        hit[i] = grid.mean() >= cover
    return hit


def phone_photo(source: Path, folder: Path) -> Path:
    """`source` stored sideways with EXIF orientation 6, a camera make and a GPS position: what a phone uploads.
    Oriented, it is the source photo again."""
    from PIL import ExifTags

    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "TestCam"
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 30.0)}
    path = folder / "phone_photo.jpg"
    with Image.open(source) as im:
        im.transpose(Image.Transpose.ROTATE_90).save(path, "JPEG", exif=exif, quality=95)
    return path


@pytest.fixture(scope="session")
def exif_photo(tmp_path_factory) -> Path:
    """examples/grace_hopper.jpg as a phone uploads it (one face)."""
    return phone_photo(EXAMPLES / "grace_hopper.jpg", tmp_path_factory.mktemp("exif"))


@pytest.fixture(scope="session")
def app_url() -> str:
    """app.py served on a free loopback port for the whole session (one process: the registry is shared)."""
    import app

    url = app.launch("127.0.0.1", free_port(), block=False)
    yield url
    app.demo.close()


@contextlib.contextmanager
def served_app(folder: Path, **env: str) -> Iterator[str]:
    """`python app.py` in its own process with `env` added (settings read at import, such as retention and
    feedback), its work and Gradio folders in `folder`; yields its URL, stops it afterwards."""
    import httpx

    port = free_port()
    env = {**os.environ, "ANONYMISER_WORK_DIR": str(folder / "work"), "GRADIO_TEMP_DIR": str(folder / "gradio"),
           "GRADIO_ANALYTICS_ENABLED": "False", **env}
    log = folder / "app.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--no-downloads"], cwd=ROOT,
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 300  # import, load and warm the detectors on a busy machine
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the app did not start; its log:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}config", timeout=5).status_code == 200:
                    break
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def downloads(page) -> tuple[bytes, dict, str]:
    """In a browser test, the prepared image's bytes, its report and the image's file name, downloaded as a user
    does."""
    with page.expect_download() as download:
        page.click("#download-image")
    data = Path(download.value.path()).read_bytes()
    with page.expect_download() as report_download:
        page.click("#download-report")
    return data, json.loads(Path(report_download.value.path()).read_text()), download.value.suggested_filename
