import numpy as np
import pytest

from anonymiser.privacy_check import (
    CHECK_DETECTOR,
    TOO_LIGHT,
    TURNED_OFF,
    UNCOVERED,
    anonymise_checked,
    check_output,
    covered,
)
from anonymiser.render import render
from anonymiser.settings import Settings
from anonymiser.style import Style
from detectors.engine import DetectionResult, detect
from detectors.geometry import iou
from detectors.regions import Regions

PHOTO = "mpl_grace_hopper.jpg"
STREET = "litealpr_wild04.png"  # motorbikes, cars, a dozen people: the photo whose check never settled


@pytest.fixture(scope="module")
def photo(eval_image):
    return eval_image(PHOTO)


@pytest.fixture(scope="module")
def found(photo, registry) -> DetectionResult:
    return detect(photo, ["faces"], registry=registry)


def main_face(found: DetectionResult) -> int:
    return int(np.argmax(found.regions.widths * found.regions.heights))


def test_an_untouched_photo_fails_the_check_with_the_face_uncovered(photo, registry, annotations):
    check = check_output(photo, photo, Regions.empty(), np.zeros(0, bool), registry)
    truth = np.asarray([o["box"] for o in annotations[PHOTO]["objects"] if o["label"] == "face"], np.float32)
    found = np.asarray([f.region["box"] for f in check.findings], np.float32).reshape(-1, 4)
    assert len(found) and iou(truth, found).max() > 0.5
    assert {f.reason for f in check.findings} == {UNCOVERED}
    assert all(f.detail > 0.9 for f in check.findings)  # untouched: all of its detail


@pytest.mark.parametrize("method", ["fill", "mosaic", "blur"])
def test_an_anonymised_face_is_never_a_finding_even_where_a_detector_still_sees_one(photo, found, registry, method):
    output = render(photo, found.regions, found.selected, Style(method=method, strength="light"))
    assert check_output(photo, output, found.regions, found.selected, registry).findings == []


def test_a_face_selected_but_left_readable_is_named_too_light(photo, found, registry):
    check = check_output(photo, photo, found.regions, found.selected, registry)  # "rendered" without change
    face = str(found.regions.ids[main_face(found)])
    assert {f.region_id: f.reason for f in check.findings}[face] == TOO_LIGHT


def test_a_face_the_user_turned_off_is_pointed_out_and_covering_turns_it_on(photo, found, registry):
    selected = found.selected.copy()
    selected[main_face(found)] = False
    output = render(photo, found.regions, selected)
    check = check_output(photo, output, found.regions, selected, registry)
    face = str(found.regions.ids[main_face(found)])
    assert {f.region_id: f.reason for f in check.findings}.get(face) == TURNED_OFF
    assert "still recognisable" in check.summary()
    regions, again = covered(found.regions, selected, check.to_json()["findings"])
    assert len(regions) == len(found.regions) and again[main_face(found)]


def test_the_street_photo_check_settles_after_covering_once(eval_dir, registry):
    """What the check finds, once covered, is never reported again, and the added regions say where they
    come from."""
    data = (eval_dir / "images" / STREET).read_bytes()
    outcome, first = anonymise_checked(data, Settings.parse(registry=registry), registry)
    findings = first.to_json()["findings"]
    assert all(f["detail"] >= 0.3 for f in findings)
    regions, selected = covered(outcome.detection.regions, outcome.detection.selected, findings)
    assert (regions.detectors.astype(str) == CHECK_DETECTOR).sum() == sum(f["reason"] == UNCOVERED for f in findings)
    _, second = anonymise_checked(data, Settings.parse(registry=registry), registry,
                                  detection=DetectionResult(regions, selected))
    boxes = np.asarray([f["box"] for f in findings], np.float32).reshape(-1, 4)
    again = np.asarray([f.region["box"] for f in second.findings], np.float32).reshape(-1, 4)
    assert not len(boxes) or not len(again) or iou(boxes, again).max() < 0.5


def test_recheck_covers_the_findings_in_the_output_and_the_report_says_why(eval_dir, registry):
    data = (eval_dir / "images" / PHOTO).read_bytes()
    no_faces = Settings.parse(["plates"], registry=registry)  # nothing finds the face: only the check can
    outcome, check = anonymise_checked(data, no_faces, registry, source=PHOTO, recheck=True)
    added = outcome.report["added_by_privacy_check"]
    assert added and {a["label"] for a in added} == {"face"} and all("not covered" in a["why"] for a in added)
    assert outcome.report["privacy_check"]["summary"] == check.summary()
    assert [r["detector"] for r in outcome.report["regions"]].count(CHECK_DETECTOR) == len(added)
    after = check_output(outcome.image.pixels, outcome.output, outcome.detection.regions,
                         np.asarray([r["selected"] for r in outcome.report["regions"]]), registry)
    assert after.findings == []
    plain, _ = anonymise_checked(data, no_faces, registry, source=PHOTO)
    assert "added_by_privacy_check" not in plain.report
