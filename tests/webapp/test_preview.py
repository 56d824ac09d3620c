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
    place_tags,
    regions_from_boxes,
    regions_from_paint,
    scaled,
    tag_font,
    tag_size,
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
    picture, anonymised = draw(small, off, scale, Style(method="fill"), suggestions=True)
    np.testing.assert_array_equal(anonymised, small)
    changed = np.any(picture != small, axis=2)
    for box in review.regions.boxes * scale:
        x0, y0, x1, y1 = np.round(box).astype(int)
        assert changed[max(y0 - 2, 0):y0 + 3, x0:x1].any(), "each region's top edge is drawn"


def test_suggestions_are_drawn_in_their_own_colour(big_photo):
    small, scale = downscaled(big_photo)
    regions = Regions.create([[300, 300, 900, 900]], [0.2], "face", "retinaface").numbered()
    suggestion = Review(regions, np.zeros(1, bool), np.ones(1, bool))
    picture, _ = draw(small, suggestion, scale, Style(), suggestions=True)
    x0 = round(300 * scale)
    edge = picture[round(450 * scale):round(750 * scale), x0]
    assert (np.abs(edge.astype(int) - SUGGESTION_COLOUR).sum(axis=1) < 30).mean() > 0.3  # dashed
    collapsed, _ = draw(small, suggestion, scale, Style())
    np.testing.assert_array_equal(collapsed, small)  # collapsed: not drawn at all


def test_numbers_never_cover_each_other_and_every_region_keeps_its_outline(big_photo):
    """A crowd of tiny faces: each number sits where no other number is, or is left to the list."""
    small, scale = downscaled(big_photo)
    rng = np.random.default_rng(0)
    corners = rng.uniform(0, 600, (300, 2))
    boxes = np.concatenate([corners, corners + rng.uniform(4, 30, (300, 2))], axis=1)
    font = tag_font(small.shape)
    tags = place_tags(boxes, [tag_size(str(i + 1), font) for i in range(len(boxes))], small.shape[:2])
    placed = [t for t in tags if t is not None]
    assert 10 < len(placed) < len(boxes)
    for i, a in enumerate(placed):
        assert a[0] >= 0 and a[1] >= 0 and a[2] <= small.shape[1] and a[3] <= small.shape[0]
        for b in placed[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    lone = place_tags(boxes[:1], [tag_size("1", font)], small.shape[:2])[0]
    assert lone[3] <= boxes[0][1] + 1 or lone[1] == 0  # a lone region's number sits just above it


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
