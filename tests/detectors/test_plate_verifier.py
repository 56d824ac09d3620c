"""The plate verifier on cases cut from real dev photos, each with its expected outcome, and its fitted file.

Each negative case checks first that the region is a candidate (so it is the verifier that turns it down, not
the candidate search that never saw it), then that the detector selects nothing on it.
"""
import json

import numpy as np
import pytest

from benchmarks.fit_plates import EXAMPLES
from detectors import plate_verifier
from detectors.geometry import iou
from detectors.plate_reader import PlateReader
from detectors.registry import Registry, load_config
from tests.conftest import found_by, gt_boxes
from tests.detectors.test_plates import selected_plates

THRESHOLD = load_config()["detectors"]["plates"]["threshold"]


@pytest.fixture(scope="module")
def plates(registry):
    return registry.get("plates")


def cut(image: np.ndarray, window: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = window
    return np.ascontiguousarray(image[y0:y1, x0:x1])


def test_a_plate_reads_as_letters_and_digits(eval_image, annotations):
    truth = gt_boxes(annotations["litealpr_carlong_0008.png"], "plate")
    reading = PlateReader().read(eval_image("litealpr_carlong_0008.png"), truth)[0]
    assert reading.digits >= 5 and reading.letters >= 1 and reading.confidence > 0.8


def test_a_two_line_plate_is_read_line_by_line(eval_image, annotations):
    """litealpr_Hung_0060's scooter plate, 70 x 54 px: read as one line it gives a few characters at best."""
    reader = PlateReader()
    truth = gt_boxes(annotations["litealpr_Hung_0060.png"], "plate")
    assert len(reader._lines(truth[0])) == 2
    assert reader.read(eval_image("litealpr_Hung_0060.png"), truth)[0].digits >= 4


def test_a_two_line_plate_is_selected_as_one_region(eval_image, annotations, registry):
    truth = gt_boxes(annotations["litealpr_Hung_0060.png"], "plate")
    found = selected_plates(eval_image("litealpr_Hung_0060.png"), registry)
    assert iou(truth, found.boxes).max() >= 0.5, found.boxes.tolist()


def test_small_plates_are_selected_plates(eval_image, annotations, registry):
    """der_scale_d10: four plates 21-32 px wide (the street photo litealpr_wild04 at half size)."""
    truth = gt_boxes(annotations["der_scale_d10.png"], "plate")
    found = selected_plates(eval_image("der_scale_d10.png"), registry)
    assert (truth[:, 2] - truth[:, 0]).max() <= 32
    assert found_by(truth, found.boxes).sum() >= 3, found.boxes.tolist()


def test_a_plate_on_a_vehicle_the_coco_detector_misses_is_selected(eval_image, annotations, plates, registry):
    """litealpr_carlong_0183: a close-up of a car's rear that SSD does not see as a vehicle."""
    image = eval_image("litealpr_carlong_0183.png")
    assert not len(plates.examined_vehicles(image))
    truth = gt_boxes(annotations["litealpr_carlong_0183.png"], "plate")
    assert found_by(truth, selected_plates(image, registry).boxes).all()


@pytest.mark.parametrize(("name", "window", "box", "case"), [
    ("litealpr_wild11.png", (900, 0, 1306, 300), (1207, 155, 1222, 169), "traffic light countdown"),
    ("litealpr_Hung_0060.png", (0, 0, 450, 600), (314, 245, 380, 264), "shop sign with a phone number"),
    ("litealpr_wild04.png", (850, 300, 1269, 700), (1046, 468, 1098, 492), "advertising standee"),
])
def test_plate_shaped_text_that_is_no_plate_is_not_filled(name, window, box, case, eval_image, plates, registry):
    image = cut(eval_image(name), window)
    target = np.array([box], np.float32) - np.float32(window[:2] * 2)
    candidates, _ = plates.candidates(image)
    assert found_by(target, candidates.boxes).all(), f"{case}: not even a candidate"
    found = selected_plates(image, registry)
    assert not len(found) or iou(target, found.boxes).max() < 0.1, f"{case} filled: {found.boxes.tolist()}"


@pytest.mark.parametrize("learned", [(), ("platedet",)], ids=["default", "with the opt-in platedet"])
def test_the_fitted_file_reproduces_its_figures(eval_image, registry, learned):
    """The stored model gives the stored examples' probabilities, and its out-of-fold figures are on record."""
    path = plate_verifier.DEFAULT_PATH
    if learned:
        path = path.with_name(f"{path.stem}_{'+'.join(learned)}.json")
    config = load_config()
    config["detectors"]["plates"].update(calibration=path.name, learned=list(learned))
    plates = Registry(config).get("plates")
    stored = json.loads(path.read_text())
    assert stored["model"]["features"] == list(plate_verifier.features(bool(learned)))
    assert set(stored["fitted"]["examples"]) == set(EXAMPLES)
    for name, figures in stored["fitted"]["examples"].items():
        _, evidence = plates.candidates(eval_image(name))
        p = plates.verifier.probability(evidence.features())
        assert len(p) == figures["candidates"], name
        assert int((p >= stored["threshold"]).sum()) == figures["selected"], name
        assert p.sum() == pytest.approx(figures["probability_sum"], abs=2e-3), name
    assert stored["fitted"]["log_loss_out_of_fold"] < 0.2


def test_learned_boxes_are_candidates_with_their_score(eval_image, registry):
    """With an opt-in learned detector, its boxes join the candidates and its score is the last feature."""
    config = load_config()
    config["detectors"]["plates"].update(calibration="", learned=["platedet"])
    image = eval_image("litealpr_wild05.png")
    found, evidence = Registry(config).get("plates").candidates(image)
    platedet = registry.get("platedet")
    learned = platedet.detect(image, 0.1)
    learned = learned[platedet.accepts(learned, 0.1)]
    assert evidence.features().shape == (len(found), len(plate_verifier.FEATURES) + 1)
    assert (evidence.learned > 0).sum() >= min(len(learned), 1)
    assert (iou(learned.boxes, found.boxes).max(axis=1) >= 0.3).all()


def test_scores_are_probabilities_of_the_verifier(eval_image, plates):
    image = eval_image("litealpr_carlong_0130.png")
    found = plates.detect(image, THRESHOLD)
    _, evidence = plates.candidates(image)
    expected = plates.verifier.probability(evidence.features())
    assert len(found) and ((found.scores >= 0) & (found.scores <= 1)).all()
    assert np.isin(np.round(found.scores, 5), np.round(expected.astype(np.float32), 5)).all()
