import cv2
import numpy as np
import pytest

from anonymiser.render import render
from anonymiser.style import Style
from detectors.engine import detect
from detectors.regions import Regions
from webapp.preview import (
    PREVIEW_SIDE,
    SUGGESTION_COLOUR,
    downscaled,
    draw,
    regions_from_boxes,
    regions_from_paint,
    scaled,
)
from webapp.review import MANUAL, Review


@pytest.fixture(scope="module")
def big_photo(eval_image):
    """A real photo upscaled past the preview size (1920x1280 -> 2880x1920)."""
    image = eval_image("faceapi_sample1.jpg")
    return cv2.resize(image, (image.shape[1] * 3 // 2, image.shape[0] * 3 // 2), interpolation=cv2.INTER_CUBIC)


@pytest.fixture(scope="module")
def review(big_photo, registry):
    return Review.from_detection(detect(big_photo, ["faces"], registry=registry))


def test_previews_are_at_most_the_preview_size_and_small_images_stay_as_they_are(big_photo, eval_image):
    small, scale = downscaled(big_photo)
    assert max(small.shape[:2]) == PREVIEW_SIDE
    assert scale == pytest.approx(PREVIEW_SIDE / max(big_photo.shape[:2]))
    assert abs(small.shape[0] - big_photo.shape[0] * scale) <= 1
    tiny = eval_image("mpl_grace_hopper.jpg")
    same, one = downscaled(tiny)
    assert one == 1.0 and same.shape == tiny.shape


def test_the_anonymised_preview_is_the_renderer_at_preview_scale(big_photo, review):
    small, scale = downscaled(big_photo)
    style = Style(method="fill", colour=(255, 0, 0))
    _, anonymised = draw(small, review, scale, style)
    expected = render(small, scaled(review.regions, scale, small.shape[:2]), review.selected, style, seed=0)
    np.testing.assert_array_equal(anonymised, expected)
    assert (anonymised != small).any()


def test_turned_off_regions_are_untouched_but_outlined(big_photo, review):
    small, scale = downscaled(big_photo)
    off = review.with_label(None, False)
    picture, anonymised = draw(small, off, scale, Style(method="fill"))
    np.testing.assert_array_equal(anonymised, small)
    changed = np.any(picture != small, axis=2)
    for box in review.regions.boxes * scale:
        x0, y0, x1, y1 = np.round(box).astype(int)
        assert changed[max(y0 - 2, 0):y0 + 3, x0:x1].any(), "each region's top edge is drawn"


def test_suggestions_are_drawn_in_their_own_colour(big_photo):
    small, scale = downscaled(big_photo)
    regions = Regions.create([[300, 300, 900, 900]], [0.2], "face", "retinaface").numbered()
    suggestion = Review(regions, np.zeros(1, bool), np.ones(1, bool))
    picture, _ = draw(small, suggestion, scale, Style())
    x0 = round(300 * scale)
    edge = picture[round(450 * scale):round(750 * scale), x0]
    assert (np.abs(edge.astype(int) - SUGGESTION_COLOUR).sum(axis=1) < 30).mean() > 0.3  # dashed


def test_boxes_drawn_on_the_preview_become_image_regions():
    boxes = [{"xmin": 10, "ymin": 20, "xmax": 50, "ymax": 60, "label": MANUAL},
             {"xmin": 90, "ymin": 80, "xmax": 70, "ymax": 40},  # drawn from the bottom-right corner
             {"xmin": 5, "ymin": 5, "xmax": 5, "ymax": 30}]  # no area: dropped
    regions = regions_from_boxes(boxes, scale=0.5)
    np.testing.assert_allclose(regions.boxes, [[20, 40, 100, 120], [140, 80, 180, 160]])
    assert set(regions.detectors) == {MANUAL} and set(regions.labels) == {MANUAL}


def test_painted_areas_cover_every_painted_pixel_at_full_size():
    scale = 0.25
    layer = np.zeros((120, 160, 4), np.uint8)
    cv2.circle(layer, (40, 50), 12, (255, 0, 255, 255), -1)
    cv2.line(layer, (90, 20), (150, 100), (255, 0, 255, 255), 3)
    regions = regions_from_paint(layer, scale)
    assert len(regions) == 2
    assert all(p is not None for p in regions.polygons)
    full = np.zeros((480, 640, 3), np.uint8)
    covered = render(full, regions, None, Style(method="fill", colour=(255, 255, 255), shape="auto")) > 0
    painted_full = cv2.resize(layer[..., 3], (640, 480), interpolation=cv2.INTER_NEAREST) > 0
    assert covered[..., 0][painted_full].all()
    assert covered[..., 0].sum() < painted_full.sum() * 1.6  # and not much more
