import numpy as np
import pytest

from anonymiser.render import padded_box, render, selection_mask
from anonymiser.style import Style
from detectors.regions import Regions


@pytest.fixture
def photo(eval_image):
    return eval_image("mpl_grace_hopper.jpg")


def face_regions():
    return Regions.create([[180, 120, 340, 330], [20, 20, 60, 60]], [0.99, 0.5], "face", "test").numbered()


@pytest.mark.parametrize("method", ["mosaic", "pixelate", "blur", "fill"])
@pytest.mark.parametrize("shape", ["box", "ellipse"])
def test_only_selected_padded_regions_change(photo, method, shape):
    regions = face_regions()
    style = Style(method=method, shape=shape, padding=0.1)
    out = render(photo, regions, [True, False], style)
    x0, y0, x1, y1 = padded_box(regions.boxes[0], 0.1, photo.shape[1], photo.shape[0])
    outside = np.ones(photo.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert (out[outside] == photo[outside]).all()
    assert (out[y0:y1, x0:x1] != photo[y0:y1, x0:x1]).any(axis=2).mean() > 0.5
    assert out.shape == photo.shape and out.dtype == np.uint8


def test_ellipse_leaves_the_box_corners_alone(photo):
    regions = face_regions()
    out = render(photo, regions, [True, False], Style(method="fill", shape="ellipse", padding=0))
    x0, y0, x1, y1 = (int(v) for v in regions.boxes[0])
    assert (out[y0, x0] == photo[y0, x0]).all() and (out[y1 - 1, x1 - 1] == photo[y1 - 1, x1 - 1]).all()
    assert (out[(y0 + y1) // 2, (x0 + x1) // 2] == 0).all()


def test_fill_uses_the_colour_and_keeps_alpha(photo):
    rgba = np.dstack([photo, np.full(photo.shape[:2], 77, np.uint8)])
    out = render(rgba, face_regions(), ["face-1"], Style(method="fill", shape="box", colour=(255, 0, 10),
                                                        padding=0))
    assert (out[200, 250, :3] == [255, 0, 10]).all()
    assert (out[..., 3] == 77).all()


def test_polygon_shape_covers_only_the_polygon(photo):
    poly = np.array([[100, 100], [200, 100], [200, 150]], np.float32)
    regions = Regions.create([[100, 100, 200, 150]], [1], "text", "test", polygons=[poly])
    out = render(photo, regions, None, Style())
    assert (out[140, 190] == 0).all()  # inside the triangle: filled black (auto: text is filled)
    assert (out[145, 105] == photo[145, 105]).all()  # below the diagonal: untouched


def test_mosaic_is_coarse_and_noisy(photo):
    """At most ~8 blocks across a face, and two renders differ (random noise per render)."""
    regions = face_regions()[np.array([True, False])]
    a = render(photo, regions, None, Style(method="pixelate", shape="box", padding=0))
    x0, y0, x1, y1 = (int(v) for v in regions.boxes[0])
    row = a[(y0 + y1) // 2, x0:x1, 0]
    assert 2 <= len(np.unique(row)) <= 9
    b1 = render(photo, regions, None, Style(method="mosaic"))
    b2 = render(photo, regions, None, Style(method="mosaic"))
    assert (b1 != b2).any()


def test_selection_forms_agree():
    regions = face_regions()
    assert selection_mask(regions, ["face-2"]).tolist() == [False, True]
    assert selection_mask(regions, None).tolist() == [True, True]
    with pytest.raises(ValueError, match="entries"):
        selection_mask(regions, [True])


def test_bad_style_values_are_rejected():
    with pytest.raises(ValueError, match="method"):
        Style(method="smudge")
    with pytest.raises(ValueError, match="padding"):
        Style(padding=3)
