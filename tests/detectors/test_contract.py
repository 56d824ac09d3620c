"""One contract for every detector in detectors.toml: what the engine, the renderer and the report rely on.

A detector that cannot load here (a hub model offline) must say why in one sentence; every other one runs on a
real photo and on a blank image.
"""
import numpy as np
import pytest

from detectors.base import BaseDetector
from detectors.regions import Regions
from detectors.registry import DetectorUnavailable, load_config

NAMES = list(load_config()["detectors"])


def run(detector, image: np.ndarray, threshold: float) -> Regions:
    prompt = {"prompt": "face, licence plate"} if "prompt" in detector.detect.__code__.co_varnames else {}
    return detector.detect(image, threshold, **prompt)


@pytest.fixture(scope="module")
def street(eval_image) -> np.ndarray:
    """A street photo (cars, plates, people, signs): something for every embedded detector."""
    return eval_image("litealpr_wild01.png")


@pytest.mark.parametrize("name", NAMES)
def test_detector_keeps_the_contract(name, registry, street):
    try:
        detector = registry.get(name)
    except DetectorUnavailable as exc:
        reason = str(exc)
        assert reason and "\n" not in reason and reason.rstrip().endswith((".", ")")), reason
        return
    assert isinstance(detector, BaseDetector) and detector.labels
    threshold = float(registry.settings(name)["threshold"])
    found = run(detector, street, threshold)
    h, w = street.shape[:2]
    assert isinstance(found, Regions)
    if len(found):
        assert (found.boxes[:, :2] >= 0).all() and (found.boxes[:, 2] <= w).all() and (found.boxes[:, 3] <= h).all()
        assert ((found.boxes[:, 2:] > found.boxes[:, :2]).all())
        assert ((found.scores >= 0) & (found.scores <= 1)).all()
        assert (found.scores >= detector.floor(threshold) - 1e-6).all()
        assert set(found.labels.astype(str)) <= set(detector.labels) or name == load_config()["prompt"]["detector"]
        assert all(m is None or m.shape == (h, w) for m in found.masks)
    assert not len(run(detector, np.zeros((240, 320, 3), np.uint8), threshold)), "found something in a black image"
    assert isinstance(detector.versions(), dict) and detector.versions()
