"""The face score both face detectors share: one threshold, on a calibrated score for RetinaFace."""
import json

import numpy as np
import pytest

from detectors import face_calibration
from detectors.base import BaseDetector
from detectors.engine import detect
from detectors.faces import FaceDetector
from detectors.regions import Regions
from detectors.registry import Registry, load_config


def test_the_slider_means_what_it_says(eval_image, registry):
    """A region is selected exactly when its score reaches the threshold, at every size (no small-face rule)."""
    detector = registry.get("retinaface")
    assert isinstance(detector, FaceDetector) and detector.calibration is not None
    assert type(detector).accepts is BaseDetector.accepts
    threshold = load_config()["detectors"]["retinaface"]["threshold"]
    result = detect(eval_image("der_paste_d3.png"), "faces", registry=registry)
    scores = result.regions.scores
    assert (result.regions.widths < 16).any() and (result.regions.widths >= 16).any()
    assert (result.selected == (scores >= threshold)).all()
    assert ((scores >= 0) & (scores <= 1)).all()


def test_calibration_file_reproduces_its_fitted_figures(eval_image, registry):
    """The stored model, run on the fit's example photos, gives the candidates and selections it was fitted with."""
    stored = json.loads(face_calibration.DEFAULT_PATH.read_text())
    detector = registry.get("retinaface")
    assert stored["threshold"] == load_config()["detectors"]["retinaface"]["threshold"]
    for name, expected in stored["fitted"]["examples"].items():
        found, features = detector.candidates(eval_image(name), detector.raw_floor)
        p = detector.calibration.probability(features)
        assert abs(len(p) - expected["candidates"]) <= 2, name
        assert abs(int((p >= stored["threshold"]).sum()) - expected["selected"]) <= 1, name
        assert p.sum() == pytest.approx(expected["probability_sum"], rel=0.02), name


def test_fit_recovers_a_known_logistic_model():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20000, len(face_calibration.FEATURES))) * [2, 1, 3, 0.5, 1] + [0, 4, 0, 0, 1]
    truth = face_calibration.Calibration(face_calibration.FEATURES, x.mean(0), x.std(0),
                                         np.array([1.5, -1.0, 0.0, 0.5, 0.8]), -2.0)
    y = rng.random(len(x)) < truth.probability(x)
    fitted = face_calibration.fit(x, y, l2=1e-3)
    assert np.allclose(fitted.weights, truth.weights, atol=0.1)
    assert fitted.bias == pytest.approx(truth.bias, abs=0.1)
    again = face_calibration.Calibration.from_json(json.loads(json.dumps(fitted.to_json())), face_calibration.FEATURES)
    assert np.allclose(again.probability(x[:50]), fitted.probability(x[:50]))


def test_features_grow_with_score_and_size():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 40, 60]], np.float32)
    f = face_calibration.features(np.array([0.1, 0.9]), boxes, np.array([1.25, 1.25]), np.array([1, 8]))
    logit, log_width, _, aspect, support = f.T
    assert logit[0] < 0 < logit[1]
    assert log_width[1] - log_width[0] == pytest.approx(2.0)
    assert aspect.tolist() == pytest.approx([0.0, np.log2(1.5)])
    assert support.tolist() == [0.0, 3.0]


def test_uncalibrated_detector_keeps_the_models_scores(eval_image):
    config = load_config()
    config["detectors"]["retinaface"]["calibration"] = ""
    detector = Registry(config).get("retinaface")
    image = eval_image("faceapi_sample1.jpg")
    found, _ = detector.candidates(image, 0.3)
    regions = detector.detect(image, 0.6)
    assert detector.calibration is None
    assert np.allclose(np.sort(regions.scores), np.sort(found.scores))
    assert isinstance(regions, Regions) and (regions.scores >= 0.3).all()
