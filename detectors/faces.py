"""What the face detectors share: size-aware selection and multi-scale, tiled passes merged by NMS.

Tiny faces score low in every face model, so a box narrower than `small_width` needs only
`small_threshold` where a larger one needs `threshold` (both scaled together when the user moves the
threshold). Small faces in large photos need more input pixels, so the image is scaled by each of
`scales` and cut into overlapping tiles when a scaled side exceeds `max_side`.
"""
from __future__ import annotations

import numpy as np

from detectors.regions import Regions, nms
from detectors.tiling import scaled_tiles


class SizeAwareFaces:
    """Base of a face detector; a subclass sets `name` and implements `_run` on one padded crop."""

    name = ""
    labels = ("face",)
    nms_iou = 0.4

    def __init__(self, threshold: float, small_threshold: float, small_width: float, suggest: float,
                 scales: list[float], max_side: int = 2400, tile: int = 960) -> None:
        self.small_ratio = small_threshold / threshold
        self.small_width = small_width
        self.suggest = suggest
        self.scales = scales
        self.max_side = max_side
        self.tile = tile

    def accepts(self, regions: Regions, threshold: float) -> np.ndarray:
        """Size-aware: boxes narrower than `small_width` need `threshold * small_threshold / threshold`."""
        needed = np.where(regions.widths < self.small_width, threshold * self.small_ratio, threshold)
        return regions.scores >= needed

    def detect(self, image: np.ndarray, threshold: float) -> Regions:
        floor = min(threshold * self.small_ratio, threshold) * self.suggest
        parts = []
        for scale in self.scales:
            for crop, (ox, oy), s in scaled_tiles(image, scale, self.max_side, self.tile):
                boxes, scores = self._run(crop, floor)
                parts.append(Regions.create(boxes / s + [ox, oy, ox, oy], scores, "face", self.name))
        found = nms(Regions.merge(parts), self.nms_iou).clipped(image.shape[1], image.shape[0])
        return found[self.accepts(found, threshold * self.suggest)]

    def _run(self, rgb: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (N,4) in the crop's pixels and their scores, for scores of at least `floor`."""
        raise NotImplementedError
