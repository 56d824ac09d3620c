"""Test clips with exact ground truth, made from the dev stills at run time (nothing large is committed).

Two kinds of motion: a camera panning and zooming over a still (its annotated boxes move with the view), and
face or plate crops pasted onto a background and moved across it. Clips are written as MOV with a sine-wave
AAC track and the tags a phone leaves (creation time, GPS location, make and model), so a test can check that
the output carries none of them.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

SOURCE_TAGS = {"creation_time": "2024-05-01T10:00:00.000000Z", "location": "+48.8584+002.2945/",
               "make": "Acme", "model": "Phone 7", "comment": "shot at home"}


@dataclass
class Clip:
    path: Path
    fps: int
    size: tuple[int, int]  # width, height
    truth: list[list[tuple[str, list[float]]]] = field(default_factory=list)  # per frame: (label, box)

    @property
    def frames(self) -> int:
        return len(self.truth)


@dataclass
class Sprite:
    """A crop of a still, pasted with its object box (in crop pixels) moving from `start` to `end` (x, y)."""

    pixels: np.ndarray
    label: str
    box: tuple[float, float, float, float]
    start: tuple[float, float]
    end: tuple[float, float]


def sprite(still: np.ndarray, label: str, box: list[float], start: tuple[float, float], end: tuple[float, float],
           scale: float = 1.0, margin: float = 0.4) -> Sprite:
    """The object with `margin` of its size around it (detectors need some context), resized by `scale`."""
    x0, y0, x1, y1 = box
    mx, my = (x1 - x0) * margin, (y1 - y0) * margin
    cx0, cy0 = int(max(0, x0 - mx)), int(max(0, y0 - my))
    cx1, cy1 = int(min(still.shape[1], x1 + mx)), int(min(still.shape[0], y1 + my))
    crop = still[cy0:cy1, cx0:cx1]
    crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
                      interpolation=cv2.INTER_AREA)
    inner = ((x0 - cx0) * scale, (y0 - cy0) * scale, (x1 - cx0) * scale, (y1 - cy0) * scale)
    return Sprite(crop, label, inner, start, end)


def pasted_frames(background: np.ndarray, sprites: list[Sprite], size: tuple[int, int],
                  count: int) -> Iterator[tuple[np.ndarray, list[tuple[str, list[float]]]]]:
    """Sprites moved in straight lines over a fixed background, each pasted over the earlier ones; truth = their
    object boxes, clipped, without objects mostly out of frame or partly covered by a later sprite."""
    width, height = size
    base = cv2.resize(background, size, interpolation=cv2.INTER_AREA)
    for i in range(count):
        t = i / max(1, count - 1)
        frame, truth, pasted = base.copy(), [], np.zeros((height, width), np.int32)
        for number, s in enumerate(sprites, start=1):
            x = round(s.start[0] + (s.end[0] - s.start[0]) * t)
            y = round(s.start[1] + (s.end[1] - s.start[1]) * t)
            h, w = s.pixels.shape[:2]
            fx0, fy0, fx1, fy1 = max(0, x), max(0, y), min(width, x + w), min(height, y + h)
            if fx1 <= fx0 or fy1 <= fy0:
                continue
            frame[fy0:fy1, fx0:fx1] = s.pixels[fy0 - y:fy1 - y, fx0 - x:fx1 - x]
            pasted[fy0:fy1, fx0:fx1] = number
            truth += [(number, *v) for v in visible(s.label, [s.box[0] + x, s.box[1] + y, s.box[2] + x,
                                                              s.box[3] + y], size)]
        yield frame, [(label, box) for number, label, box in truth if uncovered(pasted, number, box)]


def uncovered(pasted: np.ndarray, number: int, box: list[float]) -> bool:
    """Whether at least 90% of the object's box still shows its own sprite (a later one may be pasted over it)."""
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    area = pasted[y0:y1, x0:x1]
    return area.size > 0 and float((area == number).mean()) >= 0.9


def visible(label: str, box: list[float], size: tuple[int, int]) -> list[tuple[str, list[float]]]:
    """[(label, box clipped to the frame)], or [] when the object is mostly out of frame (then it is not scored)."""
    clipped = [max(0.0, box[0]), max(0.0, box[1]), min(float(size[0]), box[2]), min(float(size[1]), box[3])]
    if clipped[2] - clipped[0] >= 0.6 * (box[2] - box[0]) and clipped[3] - clipped[1] >= 0.6 * (box[3] - box[1]):
        return [(label, clipped)]
    return []


def camera_frames(still: np.ndarray, objects: list[tuple[str, list[float]]], size: tuple[int, int], count: int,
                  zoom: tuple[float, float] = (1.0, 1.4)) -> Iterator[tuple[np.ndarray, list]]:
    """A camera panning left to right and zooming in over `still` (the view keeps the output's aspect)."""
    width, height = size
    sh, sw = still.shape[:2]
    aspect = width / height
    for i in range(count):
        t = i / max(1, count - 1)
        z = zoom[0] + (zoom[1] - zoom[0]) * t
        vw = min(sw, sh * aspect) / z
        vh = vw / aspect
        vx, vy = (sw - vw) * t, (sh - vh) * (0.5 + 0.3 * np.sin(2 * np.pi * t)) / 1.0
        vy = float(np.clip(vy, 0, sh - vh))
        matrix = np.float32([[width / vw, 0, -vx * width / vw], [0, height / vh, -vy * height / vh]])
        frame = cv2.warpAffine(still, matrix, size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)
        truth = []
        for label, (x0, y0, x1, y1) in objects:
            sx, sy = width / vw, height / vh
            truth += visible(label, [(x0 - vx) * sx, (y0 - vy) * sy, (x1 - vx) * sx, (y1 - vy) * sy], size)
        yield frame, truth


def write_clip(path: Path, frames: Iterator[tuple[np.ndarray, list]], size: tuple[int, int], fps: int = 15,
               audio: bool = True, tags: bool = True, rotation: int = 0) -> Clip:
    """Encode frames (H.264, MOV) with an optional AAC sine track and phone-like tags; truth kept per frame.

    `rotation`: degrees written into the display matrix (the pixels are stored as given).
    """
    import av

    clip = Clip(Path(path), fps, size)
    with av.open(str(path), "w", format="mov") as out:
        if tags:
            out.metadata.update(SOURCE_TAGS)
        video = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "18"})
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        if rotation:
            video.set_display_rotation(rotation)
        sound = out.add_stream("aac", rate=48000) if audio else None
        if sound is not None:
            sound.layout = "mono"
        samples = 0
        for i, (pixels, truth) in enumerate(frames):
            clip.truth.append(truth)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(video.encode(frame))
            while sound is not None and samples < (i + 1) * 48000 // fps:
                n = 1024
                tone = (0.2 * np.sin(2 * np.pi * 440 * (samples + np.arange(n)) / 48000)).astype(np.float32)
                chunk = av.AudioFrame.from_ndarray(tone[None], format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = 48000, samples
                out.mux(sound.encode(chunk))
                samples += n
        out.mux(video.encode(None))
        if sound is not None:
            out.mux(sound.encode(None))
    return clip
