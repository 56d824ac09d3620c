"""RetinaFace on real photos: it must find the faces a person sees."""
import numpy as np
import pytest

from detectors.engine import detect
from detectors.geometry import iou
from tests.conftest import gt_boxes, missed_on


@pytest.mark.parametrize("name", ["mpl_grace_hopper.jpg", "skimage_astronaut.png", "faceapi_sample1.jpg",
                                  "insightface_t1.jpg"])
def test_finds_every_clear_face(name, eval_image, annotations, registry):
    missed, _ = missed_on(name, "faces", "face", 0.4, eval_image, annotations, registry)
    assert not missed


def test_regions_are_inside_the_image_and_labelled(eval_image, registry):
    image = eval_image("insightface_t1.jpg")
    result = detect(image, "faces", registry=registry)
    r = result.regions
    h, w = image.shape[:2]
    assert len(r) >= 6
    assert (r.boxes[:, :2] >= 0).all() and (r.boxes[:, 2] <= w).all() and (r.boxes[:, 3] <= h).all()
    assert set(r.labels) == {"face"} and set(r.detectors) == {"retinaface"}
    assert len(set(r.ids)) == len(r)


def test_suggestions_sit_below_the_threshold(eval_image, registry):
    result = detect(eval_image("der_paste_d3.png"), "faces", {"faces": 0.3}, registry)
    assert (result.regions.scores[result.selected] >= 0.3).all()
    assert (result.regions.scores[~result.selected] < 0.3).all()
    assert (result.regions.scores >= 0.15).all(), "suggestions go down to threshold * suggest (0.5)"
    assert (~result.selected).any(), "a 0.3 threshold should leave some suggestions on this street photo"


def test_small_faces_pasted_into_a_street(eval_image, annotations, registry):
    """der_paste_d3 holds 18 non-hard faces under 24 px in a 1920x1080 street photo."""
    name = "der_paste_d3.png"
    truth = gt_boxes(annotations[name], "face")
    result = detect(eval_image(name), "faces", registry=registry)
    found = result.regions[result.selected]
    recall = (iou(truth, found.boxes).max(axis=1) >= 0.3).mean() if len(found) else 0.0
    assert recall >= 0.8, recall


def test_blank_image_gives_no_selected_face(registry):
    result = detect(np.full((480, 640, 3), 127, np.uint8), "faces", registry=registry)
    assert not result.selected.any()
