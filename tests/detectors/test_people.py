"""People with silhouettes: SSD + bodies under faces, masks from BlazePose's segmentation on square crops."""
from __future__ import annotations

import numpy as np
import pytest

from detectors.engine import detect
from detectors.geometry import inside, iou
from detectors.people import bodies_from_faces, exposed_detail
from detectors.pose_models import MASK_SIDE, pasted, square_crop
from detectors.regions import Regions
from detectors.registry import Registry, load_config
from tests.conftest import gt_boxes

pytest.importorskip("ai_edge_litert", reason="the people masks need ai-edge-litert (requirements.txt)")


def centre(box: np.ndarray, share: float = 0.3) -> tuple[slice, slice]:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    return slice(int(y0 + share * h), int(y1 - share * h)), slice(int(x0 + share * w), int(x1 - share * w))


def test_masks_lie_in_their_boxes_and_cover_each_centre(eval_image, annotations, registry):
    """ultra_zidane: two people, one's arm across the other; each mask is its own person, inside its box."""
    name = "ultra_zidane.jpg"
    image = eval_image(name)
    result = detect(image, "people", registry=registry)
    people = result.regions[result.selected]
    truth = gt_boxes(annotations[name], "person")
    assert len(people) >= len(truth) == 2
    assert "BlazePose" in result.models["person masks"]
    margin, dilate = registry.settings("people")["box_margin"], registry.settings("people")["dilate"]
    masked = [i for i in range(len(people)) if people.masks[i] is not None]
    assert len(masked) >= 2
    for i in masked:
        mask, box = people.masks[i], people.boxes[i]
        assert mask.dtype == bool and mask.shape == image.shape[:2]
        x0, y0, x1, y1 = box
        grown = np.zeros_like(mask)
        w, h = x1 - x0, y1 - y0
        mx, my = margin * w + dilate * h + 2, margin * h + dilate * h + 2  # kept near the box, then dilated
        grown[max(int(y0 - my), 0):int(y1 + my), max(int(x0 - mx), 0):int(x1 + mx)] = True
        assert (mask & grown).sum() == mask.sum()
        assert mask[centre(box)].mean() >= 0.5
        assert mask[int(y0):int(y1), int(x0):int(x1)].mean() < 0.9  # a silhouette, not its box
    # the right-hand man's crop holds the other man's head: his mask leaves it out
    right = max(masked, key=lambda i: people.boxes[i][0])
    left_face = min(gt_boxes(annotations[name], "face"), key=lambda b: b[0]).astype(int)
    assert people.masks[right][left_face[1]:left_face[3], left_face[0]:left_face[2]].mean() < 0.1


def test_without_the_weight_package_people_are_boxes_with_a_reason(eval_image):
    config = load_config()
    config["detectors"]["people"].update(package="no_such_weights_package", pip_name="no-such-pose==0.0.1")
    registry = Registry(config)
    image = eval_image("ocv_basketball1.png")
    result = detect(image, "people", registry=registry)
    reason = result.models["person masks"]
    assert reason.startswith("People are drawn as boxes: the package no-such-pose==0.0.1 is not installed")
    assert reason.endswith(".") and reason.count(". ") == 0 and not result.unavailable
    assert result.selected.sum() >= 2 and all(m is None for m in result.regions.masks)


def test_a_person_cut_by_the_image_edge_keeps_a_centred_crop_and_a_mask(eval_image, registry):
    """The crop's square reaches outside the image (black there); the mask is pasted on the visible part."""
    image = eval_image("ocv_basketball1.png")[:, 90:]  # the left player loses a third of his width
    box = np.float32([0, 80, 84, 480])
    crop, square = square_crop(image, box, 1.25, MASK_SIDE)
    assert crop.shape == (MASK_SIDE, MASK_SIDE, 3) and square[0] < 0
    outside = int(-square[0] / (square[2] - square[0]) * MASK_SIDE)
    assert outside > 10 and crop[:, :outside - 1].max() == 0 and crop[:, outside + 1:].max() > 0
    people = Regions.create(box[None], [0.9], "person", "people")
    mask = registry.get("people").silhouettes(image, people, 0.5)[0]
    assert mask is not None and mask.shape == image.shape[:2] and mask[:, :20].any()


def test_pasting_maps_the_crop_back_onto_its_square():
    logits = np.full((MASK_SIDE, MASK_SIDE), -5, np.float32)
    logits[64:192, 64:192] = 5  # the crop's central half
    mask = pasted(logits, np.float32([-50, 10, 150, 210]), (100, 120), smooth=0)
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    assert (rows[0], rows[-1]) == (60, 99) and (cols[0], cols[-1]) == (0, 99)


def test_tiny_people_keep_their_box(eval_image, registry):
    image = eval_image("ultra_zidane.jpg")
    people = Regions.create([[100, 100, 115, 130], [740, 48, 1144, 700]], [0.9, 0.9], "person", "people")
    masks = registry.get("people").silhouettes(image, people, 0.5)
    assert masks[0] is None and masks[1] is not None


def test_bodies_hang_under_their_faces():
    body = bodies_from_faces(np.float32([[100, 50, 120, 74]]), width=1.5, below=5.0)[0]
    np.testing.assert_allclose(body, [80, 50 - 0.2 * 24, 140, 50 + 5 * 24])


def test_people_at_a_table_are_drawn_once_each_and_not_over_the_table(eval_image, annotations, registry):
    """insightface_t1: six people sitting at a table, faces and SSD boxes on each. Each person is one selected box
    (a body under a face is the same body as the SSD box it overlaps), none reaching beyond the annotated people
    grown by a quarter, the margin score.py allows (bodies hanging 5 face heights down ran into the table)."""
    name = "insightface_t1.jpg"
    result = detect(eval_image(name), "people", registry=registry)
    people = result.regions[result.selected]
    truth = gt_boxes(annotations[name], "person", hard=None)
    w, h = truth[:, 2] - truth[:, 0], truth[:, 3] - truth[:, 1]
    allowed = truth + np.stack([-w, -h, w, h], 1) * 0.25
    assert len(people) == len(truth) == 6
    assert (iou(truth, people.boxes).max(axis=1) >= 0.5).all()
    assert (inside(people.boxes, allowed).max(axis=1) >= 0.95).all()


def test_exposed_detail_is_the_share_of_the_box_middle_left_out(eval_image):
    image = eval_image("ocv_basketball1.png")
    box = np.float32([36, 80, 174, 480])
    everything = np.ones(image.shape[:2], bool)
    assert exposed_detail(image, everything, box) == 0.0
    assert exposed_detail(image, ~everything, box) == pytest.approx(1.0)
    left = everything.copy()
    left[:, 105:] = False  # the right half of the box is left out
    assert 0.2 < exposed_detail(image, left, box) < 0.8
