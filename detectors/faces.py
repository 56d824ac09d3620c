"""What the face detectors share: multi-scale, tiled passes merged by NMS, and an optional calibrated score.

Small faces in large photos need more input pixels, so the image is scaled by each of `scales` and cut into
overlapping tiles when a scaled side exceeds `max_side`. `max_pixels` caps the scaled image's size: a 12 MP
photo is scaled down to it rather than cut into dozens of tiles (measured: 35 tiles of 960 px took 8x the time
and 5.6 GB peak; one 2370x1780 pass about 0.4 GB).

With a `calibration` file (see `detectors.face_calibration`), the model is searched down to `raw_floor` and
every box's score becomes the probability that it is a face, so one threshold (the slider's) selects faces of
every size; without one, scores are the model's own.
"""
from __future__ import annotations

import math

import numpy as np

from detectors import face_calibration
from detectors.base import BaseDetector
from detectors.geometry import iou, nms
from detectors.regions import Regions
from detectors.tiling import scaled_tiles


class FaceDetector(BaseDetector):
    """Base of a face detector; a subclass sets `name` and implements `_run` on one padded crop."""

    name = ""
    labels = ("face",)
    nms_iou = 0.4

    def __init__(self, threshold: float, suggest: float, scales: list[float], max_side: int = 2400,
                 tile: int = 960, max_pixels: float = 0, calibration: str = "", raw_floor: float = 0.0) -> None:
        self.suggest = suggest
        self.scales = scales
        self.max_side = max_side
        self.tile = tile
        self.max_pixels = max_pixels
        self.calibration = face_calibration.load(calibration) if calibration else None
        self.raw_floor = raw_floor

    def detect(self, image: np.ndarray, threshold: float) -> Regions:
        floor = self.floor(threshold)
        found, features = self.candidates(image, self.raw_floor if self.calibration else floor)
        if self.calibration is not None:
            found = Regions.create(found.boxes, self.calibration.probability(features), "face", self.name)
        found = found[found.scores >= floor]
        return found.clipped(image.shape[1], image.shape[0])

    def candidates(self, image: np.ndarray, raw_floor: float) -> tuple[Regions, np.ndarray]:
        """Boxes kept by NMS with their raw scores (>= `raw_floor`), and their calibration features."""
        parts, scales = [], []
        height, width = image.shape[:2]
        budget = math.sqrt(self.max_pixels / (height * width)) if self.max_pixels else math.inf
        for scale in self.scales:
            for crop, (ox, oy), s in scaled_tiles(image, min(scale, budget), self.max_side, self.tile):
                boxes, scores = self._run(crop, raw_floor)
                parts.append(Regions.create(boxes / s + [ox, oy, ox, oy], scores, "face", self.name))
                scales.append(np.full(len(boxes), s))
        raw = Regions.merge(parts)
        kept = nms(raw, self.nms_iou)
        if not len(kept):
            return kept, np.zeros((0, len(face_calibration.FEATURES)))
        overlaps = iou(kept.boxes, raw.boxes)
        support = (overlaps > self.nms_iou).sum(axis=1)
        scale = np.concatenate(scales)[overlaps.argmax(axis=1)]
        return kept, face_calibration.features(kept.scores, kept.boxes, scale, support)

    def _run(self, rgb: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (N,4) in the crop's pixels and their scores, for scores of at least `floor`."""
        raise NotImplementedError
