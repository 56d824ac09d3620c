"""The opt-in learned plate detector from platedet's YOLOv8s-seg ONNX file, cut at its head, on real dev photos."""
import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from detectors.geometry import iou
from detectors.onnx_session import onnx_session
from detectors.platedet import MODEL, head_model
from detectors.yolo_plates import decode
from tests.conftest import gt_boxes


@pytest.fixture(scope="module")
def platedet(registry):
    return registry.get("platedet")


def best_iou(truth: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    return iou(truth, boxes).max(axis=1) if len(boxes) else np.zeros(len(truth))


@pytest.mark.parametrize("name", ["litealpr_carlong_0002.png", "litealpr_Hung_0060.png", "fastalpr_test_image.png"])
def test_finds_the_plate_of_a_car_photo(name, platedet, eval_image, annotations):
    found = platedet.detect(eval_image(name), 0.5)
    selected = found[platedet.accepts(found, 0.5)]
    truth = gt_boxes(annotations[name], "plate")
    assert len(truth) == 1 and best_iou(truth, selected.boxes)[0] >= 0.7
    assert set(selected.labels) == {"plate"} and (selected.scores >= 0.5).all()


def test_finds_most_plates_of_a_street(platedet, eval_image, annotations):
    """litealpr_wild05: six plates 41-61 px wide and a 42x11 px one; at 0.1 the boxes are candidates."""
    truth = gt_boxes(annotations["litealpr_wild05.png"], "plate")
    found = platedet.detect(eval_image("litealpr_wild05.png"), 0.1)
    assert (best_iou(truth, found.boxes) >= 0.5).sum() >= 4


def test_the_cut_graph_decodes_as_the_full_model(eval_image):
    """The head maps decoded here give the full file's own boxes and scores (output0) on the same input."""
    path = Path(importlib.util.find_spec("platedet").submodule_search_locations[0]) / MODEL
    canvas = np.full((640, 640, 3), 114, np.uint8)
    canvas[:384] = cv2.resize(eval_image("litealpr_wild05.png"), (640, 384))
    x = (canvas.transpose(2, 0, 1)[None] / 255).astype(np.float16)
    full = onnx_session(str(path)).run(None, {"images": x})[0][0].astype(np.float32)  # (37, 8400): cx cy w h p ...
    levels = onnx_session(head_model(path)).run(None, {"images": x})
    boxes, scores = (np.concatenate(parts) for parts in zip(*(decode(lv, 640 / lv.shape[2], 0.0) for lv in levels),
                                                            strict=True))
    cx, cy, w, h = full[:4]
    expected = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    assert scores.shape == (8400,) and scores.max() > 0.5
    assert np.abs(scores - full[4]).max() < 2e-3
    assert np.abs(boxes - expected).max() < 1.0  # pixels; the file computes in float16
