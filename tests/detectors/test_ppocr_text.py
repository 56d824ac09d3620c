"""PP-OCRv5 text detection on real photos: the text a person reads must be found, and shapes must stay inside."""
import cv2
import numpy as np
import pytest

from detectors.engine import detect
from tests.conftest import found_by, gt_boxes

SCENE_TEXT = ["ocv_scenetext02.jpg", "ocv_scenetext04.jpg", "ocv_scenetext06.jpg", "ocv_imageTextN.png"]


@pytest.fixture(scope="module")
def text(registry):
    return registry.get("ppocr_text")


def selected_text(image, registry, threshold=None):
    result = detect(image, "text", {"text": threshold} if threshold is not None else None, registry)
    return result.regions[result.selected]


@pytest.mark.parametrize("name", ["ocv_scenetext02.jpg", "ocv_scenetext06.jpg", "ocv_imageTextN.png"])
def test_finds_every_clear_line(name, eval_image, annotations, registry):
    truth = gt_boxes(annotations[name], "text")
    found = selected_text(eval_image(name), registry)
    hit = found_by(truth, found.boxes)
    assert hit.all(), f"missed text {truth[~hit].tolist()}"


def test_recall_on_scene_text_photos(eval_image, annotations, registry):
    """Measured 22 of 23 non-hard lines on these four photos; the floor leaves room for model noise."""
    hits = total = 0
    for name in SCENE_TEXT:
        truth = gt_boxes(annotations[name], "text")
        hits += int(found_by(truth, selected_text(eval_image(name), registry).boxes).sum())
        total += len(truth)
    assert total == 23 and hits / total >= 0.8, f"{hits}/{total}"


def test_regions_lie_inside_the_image(eval_image, registry):
    for name in ["litealpr_wild11.png", "mpl_grace_hopper.jpg"]:  # text at the borders, and a tilted false hit
        image = eval_image(name)
        h, w = image.shape[:2]
        regions = detect(image, "text", registry=registry).regions
        assert len(regions)
        assert (regions.boxes[:, :2] >= 0).all() and (regions.boxes[:, 2] <= w).all()
        assert (regions.boxes[:, 3] <= h).all()
        assert set(regions.labels) == {"text"} and set(regions.detectors) == {"ppocr_text"}
        for polygon in regions.polygons:
            if polygon is not None:
                assert (polygon >= 0).all() and (polygon[:, 0] <= w).all() and (polygon[:, 1] <= h).all()


def test_rotated_text_gets_a_rotated_polygon(eval_image, annotations, text):
    """ocv_imageTextN turned by 20 degrees: its lines come back as polygons tilted 20 degrees, boxed by `boxes`."""
    image = eval_image("ocv_imageTextN.png")
    h, w = image.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), 20, 1.0)
    size = (int(w * 1.3), int(h * 1.8))
    turn[:, 2] += [(size[0] - w) / 2, (size[1] - h) / 2]
    rotated = cv2.warpAffine(image, turn, size, borderValue=(255, 255, 255))
    found = text.detect(rotated, 0.6)
    found = found[text.accepts(found, 0.6)]
    truth = gt_boxes(annotations["ocv_imageTextN.png"], "text")
    centres = np.hstack([(truth[:, :2] + truth[:, 2:]) / 2, np.ones((len(truth), 1))]) @ turn.T
    tilted = [p for p in found.polygons if p is not None]
    assert len(tilted) >= 0.8 * len(truth)
    for polygon, box in zip(found.polygons, found.boxes, strict=True):
        if polygon is not None:
            angle = cv2.minAreaRect(polygon.astype(np.float32))[2] % 90
            assert min(abs(angle - 20), abs(angle - 70)) < 5, angle
            np.testing.assert_allclose(box, [*polygon.min(0), *polygon.max(0)], atol=1e-3)
    inside = [any(cv2.pointPolygonTest(p.astype(np.float32), (float(x), float(y)), False) >= 0 for p in tilted)
              for x, y in centres]
    assert np.mean(inside) >= 0.8, inside


def test_level_text_has_no_polygon(eval_image, registry):
    found = selected_text(eval_image("ocv_imageTextN.png"), registry)
    assert len(found) >= 10 and all(p is None for p in found.polygons)


def test_suggestions_and_threshold(eval_image, registry, text):
    image = eval_image("litealpr_wild04.png")
    low = text.detect(image, 0.5)
    assert (low.scores >= 0.5 * registry.settings("ppocr_text")["suggest"]).all()
    high = selected_text(image, registry, 0.8)
    assert 0 < len(high) < len(selected_text(image, registry, 0.5))
    assert (high.scores >= 0.8).all()


def test_scale_override_enlarges_small_text(eval_image, annotations, text):
    """The number plate of litealpr_carlong_0189 is found in a small crop when the crop is enlarged."""
    plate = gt_boxes(annotations["litealpr_carlong_0189.png"], "plate")[0].astype(int)
    x0, y0, x1, y1 = plate + [-40, -30, 40, 30]
    crop = eval_image("litealpr_carlong_0189.png")[y0:y1, x0:x1]
    found = text.detect(crop, 0.6, scale=4.0)
    found = found[text.accepts(found, 0.6)]
    assert found_by((plate - [x0, y0, x0, y0])[None].astype(np.float32), found.boxes).all()
    assert (found.boxes[:, 2] <= crop.shape[1]).all() and (found.boxes[:, 3] <= crop.shape[0]).all()


def test_blank_image_has_no_text(text):
    assert len(text.detect(np.full((480, 640, 3), 200, np.uint8), 0.6)) == 0


def test_the_detail_pass_finds_small_lines_in_a_large_photo(eval_image, annotations, text):
    """ocv_imageTextN shrunk to 60% in the middle of a 2400x1600 page: the whole-image pass (at 1024 px) sees
    its lines 3-4 px high; the tiled detail pass (at 4 MP, 1.02x) finds them."""
    small = cv2.resize(eval_image("ocv_imageTextN.png"), None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    page = np.full((1600, 2400, 3), 255, np.uint8)
    page[800:800 + small.shape[0], 1200:1200 + small.shape[1]] = small
    truth = gt_boxes(annotations["ocv_imageTextN.png"], "text") * 0.6 + [1200, 800, 1200, 800]
    hits = {}
    for detail in (False, True):
        found = text.detect(page, 0.6, detail=detail)
        hits[detail] = found_by(truth, found[text.accepts(found, 0.6)].boxes).sum()
    assert hits[True] >= 0.8 * len(truth) and hits[True] > hits[False], hits


def test_the_same_line_found_twice_is_kept_once_and_a_word_inside_it_is_dropped():
    from detectors.ppocr_text import without_repeats
    from detectors.regions import Regions

    line, again, word, below = [10, 10, 200, 30], [11, 10, 201, 31], [20, 12, 60, 28], [10, 40, 200, 60]
    found = Regions.create([again, line, word, below], [0.7, 0.8, 0.5, 0.6], "text", "ppocr_text")
    assert without_repeats(found).boxes.tolist() == [line, below]
