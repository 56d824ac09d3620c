"""Licence plates from vehicles + text on real photos: plates a person sees must be found."""
import numpy as np
import pytest

from detectors.engine import detect
from detectors.geometry import iou
from detectors.registry import DetectorUnavailable, Registry, load_config
from tests.conftest import found_by, gt_boxes

CLOSE_UPS = ["litealpr_carlong_0008.png", "litealpr_carlong_0130.png", "litealpr_carlong_0189.png",
             "fastalpr_test_image.png"]
STREETS = ["litealpr_wild04.png", "litealpr_wild05.png"]


@pytest.fixture(scope="module")
def plates(registry):
    return registry.get("plates")


def selected_plates(image, registry):
    result = detect(image, "plates", registry=registry)
    return result.regions[result.selected]


@pytest.mark.parametrize("name", CLOSE_UPS)
def test_finds_the_plate_of_a_close_up(name, eval_image, annotations, registry):
    truth = gt_boxes(annotations[name], "plate")
    found = selected_plates(eval_image(name), registry)
    assert len(truth) == 1 and found_by(truth, found.boxes).all(), found.boxes.tolist()


def test_recall_in_street_scenes(eval_image, annotations, registry):
    """Measured 10 of 10 plates (motorbikes, cars, a van, and since 2026-12-03 the registration numbers painted
    on trucks and vans) in these two dash-cam frames."""
    hits = total = 0
    for name in STREETS:
        truth = gt_boxes(annotations[name], "plate")
        hits += int(found_by(truth, selected_plates(eval_image(name), registry).boxes).sum())
        total += len(truth)
    assert total == 10 and hits >= 8, f"{hits}/{total}"


def test_two_line_motorbike_plate_is_one_region(eval_image, annotations, registry):
    """litealpr_Hung_0060: the text model sees two lines; the plate must come back as one box."""
    truth = gt_boxes(annotations["litealpr_Hung_0060.png"], "plate")
    found = selected_plates(eval_image("litealpr_Hung_0060.png"), registry)
    assert iou(truth, found.boxes).max() >= 0.5, found.boxes.tolist()


def test_regions_lie_inside_the_image(eval_image, registry):
    image = eval_image("litealpr_wild11.png")
    h, w = image.shape[:2]
    found = detect(image, "plates", registry=registry).regions
    assert len(found)
    assert (found.boxes[:, :2] >= 0).all() and (found.boxes[:, 2] <= w).all() and (found.boxes[:, 3] <= h).all()
    assert set(found.labels) == {"plate"} and set(found.detectors) == {"plates"}
    assert all(p is None for p in found.polygons)


def test_vehicles_examined_are_bounded_and_largest_first(eval_image, plates):
    image = eval_image("litealpr_wild05.png")  # 20+ vehicle detections
    boxes = plates.examined_vehicles(image)
    assert 1 < len(boxes) <= plates.max_vehicles
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    assert (np.diff(areas) <= 0).all()


def test_uses_the_callers_registry():
    config = load_config()
    config["detectors"]["ppocr_text"]["max_side"] = 640
    registry = Registry(config)
    assert registry.get("plates").text is registry.get("ppocr_text")


def test_unavailable_when_a_part_is_missing():
    config = load_config()
    config["detectors"]["ssd_coco"]["module"] = "detectors.no_such_module"
    with pytest.raises(DetectorUnavailable, match="vehicle detector 'ssd_coco'"):
        Registry(config).get("plates")


def test_no_plate_on_a_blank_image(plates):
    assert len(plates.detect(np.full((480, 640, 3), 127, np.uint8), 0.6)) == 0
