"""Licence plates with the learned YOLOv8s-seg plate model shipped in `platedet==0.0.2`: an opt-in extra.

Licence: the ONNX file's own metadata says "AGPL-3.0 https://ultralytics.com/license" (author "Ultralytics",
exported by ultralytics 8.0.227) and the package states no licence. The weights are therefore installed only
from requirements-plates-extra.txt and no kind uses this detector by default. The wrapper package is never
imported (its file is found via `find_spec`); onnxruntime runs the file.

The file declares a fixed 640x640 input, and its head ends in reshapes fixed to 8400 anchors. The graph is
cut before them, at the three per-stride head maps, which are fully convolutional: passes, decoding and merging
are then `detectors.yolo_plates`'. The cut also drops the segmentation branch (mask prototypes), a quarter of the
time. Trained mostly on Brazilian plates: it misses plates of other shapes and fires on other text.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from detectors.registry import register_detector
from detectors.yolo_plates import BINS, YoloPlates

PACKAGE = "platedet"
PIP_NAME = "platedet==0.0.2"
MODEL = "artifacts/platedet.onnx"
LICENCE = "its weights' metadata says AGPL-3.0 (Ultralytics) and the package states no licence"
HEADS = ("/model.22/Concat_1_output_0", "/model.22/Concat_2_output_0", "/model.22/Concat_3_output_0")


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


@register_detector("platedet")
class Platedet(YoloPlates):
    name = package = PACKAGE
    pip_name = PIP_NAME
    model_file = MODEL
    title = "YOLOv8s-seg plates"
    licence = LICENCE
    input_type = np.float16  # the file's input type
    onnx_model = staticmethod(head_model)
