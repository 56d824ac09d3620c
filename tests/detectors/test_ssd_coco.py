"""SSD MobileNet v2 COCO on real photos: people and vehicles, whole image plus windows."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from detectors.coco_labels import COCO_IDS, COCO_LABELS
from detectors.engine import detect, resolve
from detectors.geometry import inside, iou
from detectors.registry import DetectorUnavailable, Registry, load_config
from tests.conftest import gt_boxes, missed_on

VEHICLES = {"car", "bus", "truck", "motorcycle", "bicycle"}


def inside_share(small: np.ndarray, big: np.ndarray) -> np.ndarray:
    """For each `small` box, the largest share of its area inside one of the `big` boxes."""
    return inside(small, big).max(axis=1) if len(big) else np.zeros(len(small))


def test_labels_are_the_80_coco_names():
    assert len(COCO_LABELS) == len(set(COCO_LABELS)) == 80
    assert COCO_IDS[1] == "person" and COCO_IDS[3] == "car" and COCO_IDS[4] == "motorcycle"
    assert COCO_IDS[90] == "toothbrush" and 12 not in COCO_IDS
    assert resolve("dog", Registry(load_config())).detector == "ssd_coco"


@pytest.mark.parametrize("name", ["ultra_zidane.jpg", "ocv_basketball1.png", "litealpr_wild05.png"])
def test_finds_every_clear_person(name, eval_image, annotations, registry):
    missed, people = missed_on(name, "people", "person", 0.5, eval_image, annotations, registry)
    assert not missed and set(people.labels) == {"person"}


def test_windows_find_small_people_the_whole_image_pass_misses(eval_image, annotations, registry):
    """litealpr_wild02: 7 people 44-230 px tall in a 1269x671 street; the 300x300 whole-image pass finds 2."""
    name = "litealpr_wild02.png"
    truth = gt_boxes(annotations[name], "person")
    image = eval_image(name)
    config = load_config()
    config["detectors"]["ssd_coco"]["max_tiles"] = 1
    whole_only = Registry(config).get("ssd_coco")
    tiled = registry.get("ssd_coco")

    def recall(found):
        people = found[(found.labels == "person") & (found.scores >= 0.4)]
        return (iou(truth, people.boxes).max(axis=1) >= 0.5).mean() if len(people) else 0.0

    assert recall(tiled.detect(image, 0.4)) >= 0.5 > recall(whole_only.detect(image, 0.4))


@pytest.mark.parametrize("name", ["litealpr_wild01.png", "litealpr_wild10.png", "litealpr_wild11.png"])
def test_every_plate_sits_in_a_found_vehicle(name, eval_image, annotations, registry):
    """The dev set has no vehicle boxes; its plates must lie inside vehicles found on these street photos."""
    image = eval_image(name)
    result = detect(image, "vehicles", registry=registry)
    vehicles = result.regions[result.selected]
    assert set(vehicles.labels) <= VEHICLES and len(vehicles)
    plates = gt_boxes(annotations[name], "plate")
    assert len(plates)
    assert (inside_share(plates, vehicles.boxes) >= 0.9).all()
    h, w = image.shape[:2]
    assert (vehicles.boxes[:, :2] >= 0).all() and (vehicles.boxes[:, 2] <= w).all()
    assert (vehicles.boxes[:, 3] <= h).all()


def test_regions_are_inside_the_image_and_labelled(eval_image, registry):
    image = eval_image("litealpr_wild02.png")
    found = registry.get("ssd_coco").detect(image, 0.4)
    h, w = image.shape[:2]
    assert len(found)
    assert (found.boxes[:, :2] >= 0).all() and (found.boxes[:, 2] <= w).all() and (found.boxes[:, 3] <= h).all()
    assert (found.widths > 0).all() and (found.heights > 0).all()
    assert set(found.labels) <= set(COCO_LABELS) and set(found.detectors) == {"ssd_coco"}
    assert (found.scores >= 0.4 * 0.5).all()
    assert registry.status("ssd_coco").state == "ready"


def test_concurrent_calls_give_the_same_regions(eval_image, registry):
    detector = registry.get("ssd_coco")
    image = eval_image("ocv_basketball1.png")
    alone = detector.detect(image, 0.4)
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(lambda _: detector.detect(image, 0.4), range(4)))
    for found in together:
        np.testing.assert_allclose(found.boxes, alone.boxes, atol=1e-3)
        assert list(found.labels) == list(alone.labels)


def test_missing_weight_package_is_unavailable_with_a_reason():
    config = load_config()
    settings = config["detectors"]["ssd_coco"]
    settings.update(package="no_such_weights_package", pip_name="no-such-weights==0.0.1")
    registry = Registry({"kinds": config["kinds"], "detectors": {"ssd_coco": settings,
                                                                 "people": config["detectors"]["people"]}})
    with pytest.raises(DetectorUnavailable, match=r"^the package no-such-weights==0\.0\.1 is not installed"):
        registry.get("ssd_coco")
    status = registry.status("ssd_coco")
    assert status.state == "unavailable" and status.reason.endswith(".") and status.reason.count(". ") == 0
    result = detect(np.zeros((64, 64, 3), np.uint8), "people", registry=registry)
    assert "people" in result.unavailable and not len(result.regions)
