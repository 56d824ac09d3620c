"""What the face detectors share: size-aware selection and multi-scale, tiled passes merged by NMS.

Tiny faces score low in every face model, so a box narrower than `small_width` needs only
`small_threshold` where a larger one needs `threshold` (both scaled together when the user moves the
threshold). Small faces in large photos need more input pixels, so the image is scaled by each of
`scales` and cut into overlapping tiles when a scaled side exceeds `max_side`. `max_pixels` caps the
scaled image's size: a 12 MP photo is scaled down to it rather than cut into dozens of tiles (measured:
35 tiles of 960 px took 8x the time and 5.6 GB peak; one 2370x1780 pass about 0.4 GB).
"""
from __future__ import annotations

import math

import numpy as np

from detectors.base import BaseDetector
from detectors.geometry import nms
from detectors.regions import Regions
from detectors.tiling import scaled_tiles


class SizeAwareFaces(BaseDetector):
    """Base of a face detector; a subclass sets `name` and implements `_run` on one padded crop."""

    name = ""
    labels = ("face",)
    nms_iou = 0.4

    def __init__(self, threshold: float, small_threshold: float, small_width: float, suggest: float,
                 scales: list[float], max_side: int = 2400, tile: int = 960, max_pixels: float = 0) -> None:
        self.small_ratio = small_threshold / threshold
        self.small_width = small_width
        self.suggest = suggest
        self.scales = scales
        self.max_side = max_side
        self.tile = tile
        self.max_pixels = max_pixels

    def accepts(self, regions: Regions, threshold: float) -> np.ndarray:
        """Size-aware: boxes narrower than `small_width` need `threshold * small_threshold / threshold`."""
        needed = np.where(regions.widths < self.small_width, threshold * self.small_ratio, threshold)
        return regions.scores >= needed

    def floor(self, threshold: float) -> float:
        return min(threshold * self.small_ratio, threshold) * self.suggest

    def detect(self, image: np.ndarray, threshold: float) -> Regions:
        floor = self.floor(threshold)
        parts = []
        height, width = image.shape[:2]
        budget = math.sqrt(self.max_pixels / (height * width)) if self.max_pixels else math.inf
        for scale in self.scales:
            for crop, (ox, oy), s in scaled_tiles(image, min(scale, budget), self.max_side, self.tile):
                boxes, scores = self._run(crop, floor)
                parts.append(Regions.create(boxes / s + [ox, oy, ox, oy], scores, "face", self.name))
        found = nms(Regions.merge(parts), self.nms_iou).clipped(image.shape[1], image.shape[0])
        return found[self.accepts(found, threshold * self.suggest)]

    def _run(self, rgb: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (N,4) in the crop's pixels and their scores, for scores of at least `floor`."""
        raise NotImplementedError
