import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.geometry import iou, nms
from detectors.regions import Regions


def greedy_reference(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    """The textbook greedy NMS on the full overlap matrix, one label."""
    order = np.argsort(-scores, kind="stable")
    overlaps = iou(boxes[order], boxes[order])
    alive, keep = np.ones(len(order), bool), []
    for j in range(len(order)):
        if alive[j]:
            keep.append(int(order[j]))
            alive &= overlaps[j] <= threshold
    return sorted(keep)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 120), st.sampled_from([0.3, 0.5, 0.7]))
def test_nms_keeps_what_the_full_matrix_greedy_keeps(seed: int, n: int, threshold: float) -> None:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 200, (n, 2))
    boxes = np.hstack([xy, xy + rng.uniform(5, 60, (n, 2))]).astype(np.float32)
    scores = rng.uniform(0, 1, n).astype(np.float32)
    kept = nms(Regions.create(boxes, scores, "face", "test"), threshold)
    reference = greedy_reference(boxes, scores, threshold)
    assert np.array_equal(kept.boxes, boxes[reference])


def test_nms_separates_labels() -> None:
    box = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], np.float32)
    kept = nms(Regions.create(box, [0.9, 0.8], ["face", "plate"], "test"), 0.5)
    assert len(kept) == 2
