"""The Live tab: a camera stream anonymised frame by frame, with nothing of it kept.

Every frame is answered at once with the faces where the motion model says they are now; detection runs
beside it, one frame at a time on the whole machine, always on the newest frame (frames that arrive while it
runs are drawn with followed boxes, never queued for detection), so latency does not grow with time. Between
two detections each box stretches from where its face was seen to where its measured velocity takes it (frame
times are arrival times, so velocities are rough, and heads stop and turn) and grows with the time since it was
seen (the further from evidence, the less we know where the face is); a face the detector misses for a moment
stays covered until the detections of `HOLD_SECONDS` after it was seen have all missed it. The motion model
keeps boxes only: no pixels outlive their answer, except the newest frame while the detector reads it.
Detection at 640x480 uses one pass at scale 1.0 (the photo defaults in detectors.toml scale 1.25 and tile),
passed from here.
"""
from __future__ import annotations

import base64
import copy
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import cv2
import gradio as gr
import numpy as np

from anonymiser.images import encode_image, load_image
from anonymiser.render import render
from anonymiser.settings import Settings
from detectors.engine import detect
from detectors.geometry import iou
from detectors.regions import Regions
from detectors.registry import Registry, load_config
from webapp.session import new_workdir

LIVE_KINDS = ("faces", "plates")  # what the Live tab offers: a detector that keeps up with a camera, and plates
STREAM_EVERY = 0.04  # seconds between the frames the browser sends (the server answers the newest; others drop)
STREAM_SECONDS = 600  # one stream's length; the viewer presses the camera's button again to go on
VIEWERS = 4  # streams served at once (they share the one detector, each gets a share of its rate)
LIVE_SIZE = (640, 480)  # frames are scaled down to fit: the stream's cost does not depend on the camera
FACE_OPTIONS = {"scales": [1.0], "max_pixels": 0}  # one pass on the small frame: ~4x cheaper than a photo's
HOLD_SECONDS = 1.0  # a followed face missed by the detections of this many seconds after it was seen is dropped
GROWTH_PER_SECOND = 0.6  # share of a box's size added per side, per second since its face was detected
MAX_GROWTH = 0.5
MATCH_IOU = 0.1  # a detection continues the followed box it overlaps at least this much (predicted position)
STALE_SECONDS = 0.5  # a frame this much newer than the newest detected one waits for its own detection
DETECT_TIMEOUT = 60.0
MAX_SPEED = 2.0  # box sizes per second: faster measured motion is a mismatch, not a head
MAX_EXTRAPOLATION = 0.3  # seconds a box is stretched along its velocity; later it only grows
SMOOTHING = 0.6  # weight of the newest velocity measurement against the previous estimate
STREAM_QUALITY = 80  # JPEG quality of the frames shown (a snapshot is re-encoded as a photo download is)
RATE_WINDOW = 2.0  # seconds of answered frames the shown frame rate is counted over

_DETECTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-detect")  # one detection at a time


@functools.cache
def live_registry() -> Registry:
    """Detectors configured for small frames: the faces kind's detector gets FACE_OPTIONS."""
    config = copy.deepcopy(load_config())
    config["detectors"][config["kinds"]["faces"]["detector"]].update(FACE_OPTIONS)
    return Registry(config)


def warm() -> None:
    """Load the live face detector and run it once, so a viewer's first frame does not wait for it."""
    detect(np.zeros((LIVE_SIZE[1], LIVE_SIZE[0], 3), np.uint8), ["faces"], registry=live_registry())


def fit(frame: np.ndarray, size: tuple[int, int] = LIVE_SIZE) -> np.ndarray:
    """RGB uint8 scaled down (never up) to fit `size`; alpha dropped."""
    frame = np.asarray(frame)[..., :3]
    height, width = frame.shape[:2]
    scale = min(size[0] / width, size[1] / height)
    if scale >= 1:
        return frame
    return cv2.resize(frame, (max(1, round(width * scale)), max(1, round(height * scale))),
                      interpolation=cv2.INTER_AREA)


@dataclass
class Followed:
    """One face between detections: its box when last detected, at time `seen`, and its velocity (px/s)."""

    box: np.ndarray
    velocity: np.ndarray
    seen: float
    label: str

    def box_at(self, now: float) -> np.ndarray:
        """Where it was seen and where its velocity takes it (a head may stop or turn back), both grown."""
        age = max(0.0, now - self.seen)
        ahead = self.box + self.velocity * min(age, MAX_EXTRAPOLATION)
        box = np.concatenate([np.minimum(self.box[:2], ahead[:2]), np.maximum(self.box[2:], ahead[2:])])
        grow = min(MAX_GROWTH, GROWTH_PER_SECOND * age)
        w, h = box[2] - box[0], box[3] - box[1]
        return box + np.array([-w, -h, w, h]) * grow


@dataclass
class Follower:
    """Constant-velocity boxes between detections, matched to new detections by overlap."""

    hold: float = HOLD_SECONDS
    faces: list[Followed] = field(default_factory=list)

    def update(self, regions: Regions, at: float) -> None:
        """Detections of a frame taken at time `at` (seconds, the clock `regions_at` is asked with)."""
        matched: dict[int, int] = {}  # detection -> followed face, best overlaps first
        if len(regions) and self.faces:
            overlaps = iou(regions.boxes, np.array([f.box_at(at) for f in self.faces]))
            for i, j in zip(*np.unravel_index(np.argsort(-overlaps, axis=None), overlaps.shape), strict=True):
                if overlaps[i, j] < MATCH_IOU:
                    break
                if i not in matched and j not in matched.values() and self.faces[j].label == regions.labels[i]:
                    matched[int(i)] = int(j)
        fresh = []
        for i in range(len(regions)):
            box, label = regions.boxes[i].astype(np.float64), str(regions.labels[i])
            velocity = np.zeros(4)
            if i in matched:
                old = self.faces[matched[i]]
                measured = (box - old.box) / max(at - old.seen, 1e-3)
                limit = MAX_SPEED * max(box[2] - box[0], box[3] - box[1])  # two faces crossing may swap boxes
                velocity = np.clip(SMOOTHING * measured + (1 - SMOOTHING) * old.velocity, -limit, limit)
            fresh.append(Followed(box, velocity, at, label))
        kept = [f for j, f in enumerate(self.faces) if j not in matched.values() and at - f.seen <= self.hold]
        self.faces = fresh + kept

    def regions_at(self, now: float) -> Regions:
        """The followed boxes at time `now` (a face is dropped by a detection, never by the clock alone: on a
        slow machine the next detection may come later than `hold`, and the face is still there)."""
        return Regions.create([f.box_at(now) for f in self.faces], np.ones(len(self.faces)),
                              [f.label for f in self.faces], "live")


@dataclass
class Detection:
    regions: Regions  # the selected regions only: nobody reviews a live frame
    taken_at: float
    latency_ms: float


class LiveStream:
    """One viewer's stream: answers each frame at once, detects on the newest frame whenever the detector is free."""

    def __init__(self, registry: Registry | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.registry = registry or live_registry()
        self.clock = clock
        self.follower = Follower()
        self.pending: Future[Detection] | None = None
        self.pending_at = 0.0  # when the frame being detected arrived
        self.detected_at: float | None = None  # when the frame of the newest detection taken in arrived
        self.detect_ms: float | None = None
        self.answered: list[float] = []
        self.lock = threading.Lock()

    def answer(self, frame: np.ndarray, settings: Settings) -> np.ndarray:
        """The frame (scaled to fit LIVE_SIZE) anonymised with the followed boxes; starts a detection if none runs.

        A frame arriving more than STALE_SECONDS after the newest detected one (the first frame, or after the
        browser or the machine stalled) waits for a detection of its own: no box follows a face that far.
        """
        frame = fit(frame)
        now = self.clock()
        with self.lock:
            self._collect()
            if self.detected_at is None or now - self.detected_at > STALE_SECONDS:
                if self.pending is not None and now - self.pending_at > STALE_SECONDS:
                    self._collect(wait=True)  # an older frame's detection: take it, then detect this one
                if self.pending is None:
                    self._submit(frame, settings, now)
                self._collect(wait=True)
            if self.pending is None:
                self._submit(frame, settings, now)
            regions = self.follower.regions_at(now)
            self.answered = [t for t in self.answered if now - t <= RATE_WINDOW] + [now]
        return render(frame, regions, None, settings.style)

    def _submit(self, frame: np.ndarray, settings: Settings, now: float) -> None:
        self.pending, self.pending_at = _DETECTOR.submit(self._detect, frame, settings, now), now

    def _detect(self, frame: np.ndarray, settings: Settings, taken_at: float) -> Detection:
        start = time.perf_counter()
        found = detect(frame, settings.kinds, settings.thresholds, self.registry)
        return Detection(found.regions[found.selected], taken_at, (time.perf_counter() - start) * 1000)

    def _collect(self, wait: bool = False) -> None:
        """Takes a finished detection (or, with `wait`, the one in flight) into the follower; the frame it read
        is released with its future."""
        if self.pending is None or not (wait or self.pending.done()):
            return
        done, self.pending = self.pending.result(DETECT_TIMEOUT), None
        self.follower.update(done.regions, done.taken_at)
        self.detected_at, self.detect_ms = done.taken_at, done.latency_ms

    def settle(self) -> None:
        """Waits for the detection in flight and takes it in (tests and benchmarks: a known state)."""
        with self.lock:
            self._collect(wait=True)

    @property
    def fps(self) -> float:
        if len(self.answered) < 2:
            return 0.0
        return (len(self.answered) - 1) / max(self.answered[-1] - self.answered[0], 1e-6)

    def stats_text(self) -> str:
        latency = "…" if self.detect_ms is None else f"{self.detect_ms:.0f} ms"
        faces = len(self.follower.faces)
        return f"**{self.fps:.1f}** frames per second shown · detection **{latency}** · {faces} followed"


def frame_html(rgb: np.ndarray) -> str:
    """The frame as an inline JPEG: shown without ever being written to the server's disk (an Image output
    would save every frame in Gradio's cache)."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, STREAM_QUALITY])
    if not ok:
        raise ValueError("the frame could not be encoded")
    return f'<img id="live-frame" alt="anonymised camera frame" src="data:image/jpeg;base64,' \
           f'{base64.b64encode(data.tobytes()).decode()}">'


def frame_from_html(html: str | None) -> np.ndarray:
    """The pixels of the frame shown (`frame_html`'s output, as the browser sends it back)."""
    marker = "data:image/jpeg;base64,"
    if not html or marker not in html:
        raise ValueError("no anonymised frame is shown yet")
    data = base64.b64decode(html.split(marker, 1)[1].split('"', 1)[0], validate=True)
    return load_image(data).rgb


def snapshot_bytes(html: str | None) -> bytes:
    """The shown frame as a JPEG photo download: decoded and encoded afresh, so it carries no metadata."""
    return encode_image(frame_from_html(html), "JPEG")


# ---- the Live tab's events: UI values in, named outputs back (app.py wires them) ---------------------------

def on_frame(frame: np.ndarray | None, stream: LiveStream | None, kinds: list[str] | None, method: str,
             strength: str, shape: str, padding: float) -> dict:
    """One camera frame in, its anonymised picture and the stream's figures out."""
    if frame is None:
        return {}
    stream = stream or LiveStream()
    try:
        settings = Settings.parse(kinds or [], method=method, strength=strength, shape=shape, padding=padding,
                                  registry=stream.registry)
    except ValueError as exc:
        raise gr.Error(str(exc)) from None
    shown = stream.answer(frame, settings)
    return {"live_state": stream, "live_view": frame_html(shown), "live_stats": stream.stats_text()}


def on_snapshot(shown: str | None) -> dict:
    """The frame on screen as a JPEG download, without metadata (deleted with the other downloads)."""
    try:
        data = snapshot_bytes(shown)
    except ValueError:
        raise gr.Error("Start the camera first: no anonymised frame is shown yet.") from None
    path = new_workdir() / f"snapshot-{time.strftime('%Y%m%d-%H%M%S')}.jpg"
    path.write_bytes(data)
    return {"live_snapshot": gr.update(value=str(path), visible=True)}
