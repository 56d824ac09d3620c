"""The selection both face detectors share: tiny boxes need a lower score."""
import numpy as np
import pytest

from detectors.faces import SizeAwareFaces
from detectors.regions import Regions
from detectors.registry import Registry, load_config


def boxes_of_width(*widths: float) -> np.ndarray:
    return np.array([[10, 10, 10 + w, 10 + w] for w in widths], np.float32)


@pytest.mark.parametrize("name", ["retinaface", "centerface"])
def test_small_boxes_need_the_small_threshold(name):
    config = load_config()
    config["detectors"][name].update(threshold=0.4, small_threshold=0.1, small_width=16)
    detector = Registry(config).get(name)
    assert isinstance(detector, SizeAwareFaces)
    regions = Regions.create(boxes_of_width(10, 10, 30, 30), [0.15, 0.04, 0.45, 0.3], "face", name)
    assert detector.accepts(regions, 0.4).tolist() == [True, False, True, False]
    # moving the threshold moves both: at 0.8 a small box needs 0.2
    assert detector.accepts(regions, 0.8).tolist() == [False, False, False, False]
    assert detector.accepts(regions, 0.2).tolist() == [True, False, True, True]
