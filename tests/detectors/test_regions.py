import numpy as np
import pytest

from detectors.geometry import iou, nms
from detectors.regions import Regions


def make(boxes, scores, label="face"):
    return Regions.create(boxes, scores, label, "test")


def test_boolean_index_filters_every_field():
    r = make([[0, 0, 10, 10], [5, 5, 20, 20], [30, 30, 40, 40]], [0.9, 0.2, 0.5])
    r.polygons[2] = np.array([[30, 30], [40, 30], [40, 40]], np.float32)
    kept = r[r.scores > 0.4]
    assert len(kept) == 2
    assert kept.scores.tolist() == pytest.approx([0.9, 0.5])
    assert kept.polygons[0] is None and kept.polygons[1] is not None


def test_merge_and_number_give_stable_reading_order_ids():
    a = make([[100, 0, 110, 10], [0, 50, 10, 60]], [0.9, 0.8])
    b = Regions.create([[0, 0, 10, 10]], [0.7], "plate", "test")
    merged = Regions.merge([a, b, Regions.empty()])
    numbered = merged[merged.reading_order()].numbered()
    assert numbered.ids.tolist() == ["face-1", "face-2", "plate-1"]
    assert numbered.boxes[0].tolist() == [100, 0, 110, 10]  # top row first


def test_json_round_trip_keeps_boxes_labels_and_polygons():
    r = make([[1.5, 2.5, 30, 40]], [0.66]).numbered()
    r.polygons[0] = np.array([[1.5, 2.5], [30, 2.5], [30, 40]], np.float32)
    back = Regions.from_json(r.to_json())
    assert back.boxes.tolist() == r.boxes.tolist()
    assert back.ids.tolist() == ["face-1"]
    assert back.polygons[0].shape == (3, 2)


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError, match="disagree"):
        Regions(np.zeros((2, 4)), [0.1], ["a", "b"], ["d", "d"], ["1", "2"])


def test_clipped_drops_regions_outside_the_image():
    r = make([[-10, -10, 5, 5], [200, 200, 300, 300], [90, 90, 120, 120]], [1, 1, 1])
    clipped = r.clipped(100, 100)
    assert clipped.boxes.tolist() == [[0, 0, 5, 5], [90, 90, 100, 100]]


def test_nms_keeps_best_of_overlapping_boxes_per_label():
    r = Regions.merge([make([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], [0.5, 0.9, 0.4]),
                       Regions.create([[0, 0, 10, 10]], [0.3], "plate", "test")])
    kept = nms(r, 0.5)
    assert sorted(zip(kept.labels.tolist(), [round(float(s), 2) for s in kept.scores], strict=True)) == [
        ("face", 0.4), ("face", 0.9), ("plate", 0.3)]


def test_iou_matrix_values():
    others = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], float)
    overlaps = iou(np.array([[0, 0, 10, 10]], float), others)
    assert overlaps[0].tolist() == pytest.approx([1.0, 1 / 3, 0.0])
