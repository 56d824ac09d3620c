import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from anonymiser.privacy_check import CHECK_DETECTOR, TURNED_OFF, UNCOVERED
from detectors.engine import DetectionResult, detect
from detectors.regions import Regions
from webapp.review import MANUAL, Review, decode_mask, encode_mask


@pytest.fixture(scope="module")
def found(eval_image, registry):
    """Faces and text on a real photo: some selected, some suggestions, text with polygons."""
    return detect(eval_image("mpl_grace_hopper.jpg"), ["faces", "text"], registry=registry)


def test_a_review_survives_json_exactly(found):
    review = Review.from_detection(found)
    again = Review.from_json(json.loads(json.dumps(review.to_json())))
    assert len(again) == len(review) > 0
    np.testing.assert_array_equal(again.regions.boxes, review.regions.boxes)
    assert list(again.regions.ids) == list(review.regions.ids)
    np.testing.assert_array_equal(again.selected, review.selected)
    np.testing.assert_array_equal(again.suggested, review.suggested)
    polygons = [i for i, p in enumerate(review.regions.polygons) if p is not None]
    assert polygons, "the text detector gives polygons"
    for i in polygons:
        np.testing.assert_array_equal(again.regions.polygons[i], review.regions.polygons[i])


def by_id(review: Review, values: np.ndarray) -> dict[str, bool]:
    return dict(zip(review.regions.ids.astype(str), values.tolist(), strict=True))


def test_suggestions_are_exactly_what_detection_left_off_grouped_by_label_best_first(found):
    review = Review.from_detection(found)
    by_box = {tuple(b): not s for b, s in zip(found.regions.boxes.tolist(), found.selected, strict=True)}
    assert {tuple(b): s for b, s in zip(review.regions.boxes.tolist(), review.suggested, strict=True)} == by_box
    assert review.suggested.any() and review.selected.any()
    keys = list(zip(review.regions.labels.astype(str), -review.regions.scores, strict=True))
    assert keys == sorted(keys) and review.regions.ids[0] == f"{review.regions.labels[0]}-1"


def test_nothing_below_its_floor_is_selected(found):
    """The slider's value is the least score selected, whatever a detector's own rule for small regions."""
    floors = np.full(len(found.regions), float(np.median(found.regions.scores)), np.float32)
    review = Review.from_detection(found, floors)
    assert review.selected.any()
    assert (review.regions.scores[review.selected] >= floors[0]).all()
    assert (review.suggested == ~review.selected).all()


def test_a_region_found_again_keeps_the_user_s_choice_and_lost_choices_are_counted(found):
    review = Review.from_detection(found)
    chosen = review.toggled(0).toggled(len(review) - 1)
    assert chosen.chosen().sum() == 2
    again, lost = Review.from_detection(found).carried_over(chosen)
    assert lost == 0 and by_id(again, again.selected) == by_id(chosen, chosen.selected)
    gone = (found.regions.boxes == review.regions.boxes[0]).all(axis=1)  # region 0 is not found again
    fewer = DetectionResult(found.regions[~gone], found.selected[~gone])
    again, lost = Review.from_detection(fewer).carried_over(chosen)
    assert lost == 1 and again.selected[-1] == chosen.selected[-1] != review.selected[-1]


def test_collapsed_suggestions_are_not_shown_nor_clicked():
    regions = Regions.create([[0, 0, 10, 10], [20, 20, 30, 30]], [0.9, 0.2], "face", "x").numbered()
    review = Review(regions, np.array([True, False]), np.array([False, True]))
    assert review.visible(False).tolist() == [True, False] and review.visible(True).all()
    assert review.hit(25, 25, among=review.visible(False)) is None
    assert review.hit(25, 25, among=review.visible(True)) == 1
    assert review.toggled(1).visible(False).all()  # a suggestion turned on stays in view


def test_covering_the_check_s_findings_turns_regions_on_and_adds_the_rest(found):
    review = Review.from_detection(found)
    off = int(np.flatnonzero(~review.selected)[0])
    findings = [{"box": [1, 1, 9, 9], "score": 0.8, "label": "face", "reason": UNCOVERED, "region_id": ""},
                {"box": review.regions.boxes[off].tolist(), "score": 0.5, "label": "face", "reason": TURNED_OFF,
                 "region_id": str(review.regions.ids[off])}]
    done = review.covered(findings)
    assert len(done) == len(review) + 1 and done.selected[off] and done.selected[-1] and not done.suggested[-1]
    assert done.regions.detectors[-1] == CHECK_DETECTOR
    assert len(done.manual()) == 1  # kept when detection runs again


def test_toggle_label_and_id_selection_change_only_what_they_name(found):
    review = Review.from_detection(found)
    first = review.toggled(0)
    assert first.selected[0] != review.selected[0]
    np.testing.assert_array_equal(first.selected[1:], review.selected[1:])
    faces_off = review.with_label("face", False)
    is_face = review.regions.labels == "face"
    assert not faces_off.selected[is_face].any()
    np.testing.assert_array_equal(faces_off.selected[~is_face], review.selected[~is_face])
    assert review.with_label(None, True).selected.all()
    some = [str(review.regions.ids[-1])]
    np.testing.assert_array_equal(review.with_selected_ids(some).selected, np.arange(len(review)) == len(review) - 1)


def test_added_regions_are_on_and_numbered_after_the_found_ones(found):
    review = Review.from_detection(found)
    drawn = Regions.create([[1, 1, 20, 20], [30, 30, 50, 60]], [1, 1], MANUAL, MANUAL)
    more = review.added(drawn).added(drawn[:1])
    assert list(more.regions.ids[:len(review)]) == list(review.regions.ids)
    assert list(more.regions.ids[len(review):]) == ["manual-1", "manual-2", "manual-3"]
    assert more.selected[len(review):].all() and not more.suggested[len(review):].any()
    kept = more.manual().toggled(1)
    redetected = Review.from_detection(found).merged_with(kept)
    np.testing.assert_array_equal(redetected.selected[len(review):], [True, False, True])


def test_a_click_hits_the_smallest_region_under_it_or_the_nearest_within_tolerance():
    regions = Regions.create([[0, 0, 100, 100], [40, 40, 60, 60], [200, 200, 204, 204]], [0.9, 0.9, 0.9], "face", "x")
    review = Review(regions.numbered(), np.ones(3, bool), np.zeros(3, bool))
    assert review.hit(50, 50) == 1  # nested: the inner one
    assert review.hit(10, 10) == 0
    assert review.hit(150, 150) is None
    assert review.hit(207, 202, tolerance=5) == 2
    assert review.hit(215, 202, tolerance=5) is None
    assert Review.empty().hit(1, 1) is None


@settings(max_examples=60, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 40), st.integers(1, 40))))
def test_masks_round_trip_through_run_lengths(mask):
    code = json.loads(json.dumps(encode_mask(mask)))
    np.testing.assert_array_equal(decode_mask(code), mask)


def test_masks_travel_with_the_review():
    mask = np.zeros((50, 80), bool)
    mask[10:30, 20:60] = True
    regions = Regions.create([[20, 10, 60, 30]], [0.8], "person", "mask2former", masks=[mask]).numbered()
    review = Review(regions, np.ones(1, bool), np.zeros(1, bool))
    again = Review.from_json(json.loads(json.dumps(review.to_json())))
    np.testing.assert_array_equal(again.regions.masks[0], mask)
