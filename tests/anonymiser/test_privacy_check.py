import numpy as np
import pytest

from anonymiser.privacy_check import anonymise_checked, check_output
from anonymiser.render import render
from anonymiser.settings import Settings
from anonymiser.style import Style
from detectors.engine import detect
from detectors.geometry import inside, iou
from detectors.regions import Regions
from webapp.review import Review

PHOTO = "mpl_grace_hopper.jpg"


@pytest.fixture(scope="module")
def photo(eval_image):
    return eval_image(PHOTO)


@pytest.fixture(scope="module")
def review(photo, registry):
    return Review.from_detection(detect(photo, ["faces"], registry=registry))


def main_face(review: Review) -> int:
    return int(np.argmax(review.regions.widths * review.regions.heights))


def test_an_untouched_photo_fails_the_check_with_the_face_uncovered(photo, registry, annotations):
    check = check_output(photo, Regions.empty(), np.zeros(0, bool), registry)
    assert not check.clean
    truth = np.asarray([o["box"] for o in annotations[PHOTO]["objects"] if o["label"] == "face"], np.float32)
    found = np.asarray([f.region["box"] for f in check.findings], np.float32)
    assert iou(truth, found).max() > 0.5
    assert {f.reason for f in check.findings} == {"not covered by any region"}


def test_a_filled_face_is_not_reported_and_a_blurred_one_is_named(photo, review, registry):
    face = main_face(review)
    for method in ("fill", "blur"):
        style = Style(method=method, strength="light")
        output = render(photo, review.regions, review.selected, style)
        check = check_output(output, review.regions, review.selected, registry, style=style)
        face_box = review.regions.boxes[[face]]
        on_face = [f for f in check.findings if inside(np.asarray(f.region["box"]), face_box)[0, 0] >= 0.5]
        if method == "fill":
            assert on_face == []
        else:  # a light blur keeps the face's shape and colours: the detector finds it again
            assert [(f.reason, f.region_id) for f in on_face] == [("still detected after anonymisation",
                                                                  str(review.regions.ids[face]))]


def test_a_face_the_user_turned_off_is_pointed_out_as_turned_off(photo, review, registry):
    off = review.toggled(main_face(review))
    output = render(photo, off.regions, off.selected)
    check = check_output(output, off.regions, off.selected, registry)
    reasons = {f.region_id: f.reason for f in check.findings}
    assert reasons.get(str(review.regions.ids[main_face(review)])) == "turned off"
    assert "still found" in check.summary()


def test_the_report_carries_the_check(eval_dir, registry):
    data = (eval_dir / "images" / PHOTO).read_bytes()
    outcome, check = anonymise_checked(data, Settings.parse(["faces"]), registry, source=PHOTO)
    assert outcome.report["privacy_check"]["summary"] == check.summary()
    assert outcome.report["privacy_check"]["kinds"] == ["faces", "plates"]
