"""Faces and people asked for together: the face model runs once, and people use the faces it found."""
from __future__ import annotations

import numpy as np
import pytest

from detectors.engine import detect
from detectors.registry import Registry, load_config

pytest.importorskip("ai_edge_litert", reason="the people detector needs ai-edge-litert (requirements.txt)")


def counted(registry: Registry, name: str) -> list[float]:
    """The thresholds `name`'s detector is called with, recorded from now on."""
    detector = registry.get(name)
    calls, real = [], detector.detect

    def detect_counted(image, threshold, **kwargs):
        calls.append(threshold)
        return real(image, threshold, **kwargs)
    detector.detect = detect_counted
    return calls


def test_the_face_model_runs_once_for_faces_and_people(eval_image):
    image = eval_image("faceapi_sample1.jpg")
    alone = detect(image, "people", registry=Registry(load_config()))
    registry = Registry(load_config())
    calls = counted(registry, "retinaface")
    together = detect(image, "faces,people", registry=registry)
    assert len(calls) == 1
    people = together.regions[together.regions.labels == "person"]
    assert len(people) and np.array_equal(np.sort(people.scores), np.sort(alone.regions.scores))


def test_faces_searched_above_the_people_face_floor_are_searched_again(eval_image):
    registry = Registry(load_config())
    calls = counted(registry, "retinaface")
    detect(eval_image("faceapi_sample1.jpg"), "faces,people", {"faces": 0.9}, registry=registry)
    assert len(calls) == 2 and min(calls) == registry.settings("people")["face_floor"]
