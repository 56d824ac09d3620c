"""The calibrated person score: features, one body per overlap across sources, the stored model reproduced."""
from __future__ import annotations

import json

import numpy as np
import pytest

from detectors import people_calibration
from detectors.engine import detect
from detectors.people import distinct
from detectors.regions import Regions
from detectors.registry import load_config

pytest.importorskip("ai_edge_litert", reason="the people detector needs ai-edge-litert (requirements.txt)")


def test_a_face_in_the_top_of_a_box_supports_it_and_other_sources_count_once_each():
    boxes = np.array([[100, 100, 200, 400],   # SSD: a standing person
                      [95, 90, 205, 410],     # BlazePose: the same body
                      [110, 95, 190, 390],    # a second SSD box on it: the same source, not agreement
                      [400, 100, 500, 400]], np.float32)  # SSD: a pole, no face
    faces = np.array([[130, 110, 170, 160],  # in the first box's head region
                      [430, 350, 470, 390]], np.float32)  # low in the pole's box: not its head
    f = people_calibration.features(boxes, np.array([0.6, 0.7, 0.3, 0.4]), np.array([0, 2, 0, 0]), (600, 800),
                                    faces, np.array([0.9, 0.8]), np.array([0.99, 0.98, 0.9, 0.01]),
                                    np.array([0.5, 0.5, 0.6, 0.0]))
    named = dict(zip(people_calibration.FEATURES, f.T, strict=True))
    assert named["face_support"].tolist() == pytest.approx([0.9, 0.9, 0.9, 0.0])
    assert named["other_sources"].tolist() == [1, 1, 1, 0]
    assert named["from_pose"].tolist() == [0, 1, 0, 0] and named["from_face"].tolist() == [0, 0, 0, 0]
    assert named["log2_height"][0] == pytest.approx(np.log2(300))
    assert named["log2_share"][0] == pytest.approx(np.log2(100 * 300 / (600 * 800)))
    assert named["logit_presence"][3] < 0 < named["logit_presence"][0] and named["mask_cover"][3] == 0


def test_without_the_segmentation_model_its_features_count_as_their_mean():
    model = people_calibration.Calibration(people_calibration.FEATURES, np.arange(10.0), np.ones(10),
                                           np.ones(10), 0.0)
    x = np.arange(10.0)[None].repeat(2, 0)
    x[1, -2:] = np.nan
    assert people_calibration.probability(model, x) == pytest.approx([0.5, 0.5])


def test_each_body_is_kept_once_by_its_fitted_box_and_its_likelier_score():
    people = Regions.create([[0, 0, 100, 300], [5, 0, 105, 300], [20, 0, 120, 300], [500, 0, 600, 300],
                             [700, 0, 800, 300], [720, 0, 820, 300]],
                            [0.5, 0.9, 0.4, 0.3, 0.6, 0.7], "person", "people")
    kept, scores = distinct(people, np.array([0, 1, 1, 0, 1, 1]), same_body_iou=0.5)
    # SSD's box 0 is drawn for the body the face body 1 found (at its 0.9); bodies under two neighbouring
    # faces (4, 5), with no SSD box on them, both stay.
    assert kept.tolist() == [0, 3, 4, 5] and scores.tolist() == pytest.approx([0.9, 0.3, 0.6, 0.7])


def test_the_threshold_is_a_probability_and_selects_exactly_what_reaches_it(eval_image, registry):
    detector = registry.get("people")
    assert detector.calibration is not None
    threshold = load_config()["detectors"]["people"]["threshold"]
    result = detect(eval_image("faceapi_sample1.jpg"), "people", registry=registry)
    scores = result.regions.scores
    assert ((scores >= 0) & (scores <= 1)).all() and result.selected.any()
    assert (result.selected == (scores >= threshold)).all()


def test_calibration_file_reproduces_its_fitted_figures(eval_image, registry):
    stored = json.loads(people_calibration.DEFAULT_PATH.read_text())
    detector = registry.get("people")
    assert stored["threshold"] == load_config()["detectors"]["people"]["threshold"]
    for name, expected in stored["fitted"]["examples"].items():
        _, features, _ = detector.candidates(eval_image(name))
        p = detector.calibration.probability(features)
        assert abs(len(p) - expected["candidates"]) <= 2, name
        assert abs(int((p >= stored["threshold"]).sum()) - expected["selected"]) <= 1, name
        assert p.sum() == pytest.approx(expected["probability_sum"], rel=0.05), name
