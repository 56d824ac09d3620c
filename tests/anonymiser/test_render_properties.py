"""Property tests of the renderer: for any image, regions, selection and style, only the selected regions'
padded boxes can change, and the output keeps the input's size, dtype, channels and alpha."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from anonymiser.render import render
from anonymiser.style import METHODS, SHAPES, STRENGTHS, Style
from detectors.regions import Regions

LABELS = ("face", "text", "person", "plate", "car")


def random_array(draw: st.DrawFn, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """Pixels and masks from a drawn seed: much faster to generate than element by element, and as varied."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if dtype is bool:
        return rng.random(shape) < draw(st.sampled_from((0.1, 0.5, 1.0)))
    return rng.integers(0, 256, shape, dtype=np.uint8)


@st.composite
def images(draw: st.DrawFn) -> np.ndarray:
    height, width = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    return random_array(draw, (height, width, draw(st.sampled_from((3, 4)))), np.uint8)


@st.composite
def regions_for(draw: st.DrawFn, height: int, width: int) -> Regions:
    """0-5 regions: boxes that may reach outside the image, be empty or inverted; some with a polygon or mask."""
    n = draw(st.integers(0, 5))
    xs, ys = st.floats(-12, width + 12, width=32), st.floats(-12, height + 12, width=32)
    boxes, polygons, masks = [], [], []
    for _ in range(n):
        boxes.append([draw(xs), draw(ys), draw(xs), draw(ys)])
        extra = draw(st.sampled_from(("none", "polygon", "mask")))
        polygons.append(np.array([[draw(xs), draw(ys)] for _ in range(draw(st.integers(0, 6)))], np.float32)
                        .reshape(-1, 2) if extra == "polygon" else None)
        masks.append(random_array(draw, (height, width), bool) if extra == "mask" else None)
    labels = [draw(st.sampled_from(LABELS)) for _ in range(n)]
    return Regions.create(np.array(boxes, np.float32).reshape(-1, 4), [1.0] * n, labels, "test",
                          polygons=polygons, masks=masks).numbered()


styles = st.builds(Style, method=st.sampled_from(METHODS), strength=st.sampled_from(STRENGTHS),
                   colour=st.tuples(*[st.integers(0, 255)] * 3), shape=st.sampled_from(SHAPES),
                   padding=st.floats(0, 1))


@st.composite
def scenes(draw: st.DrawFn) -> tuple[np.ndarray, Regions, np.ndarray, Style]:
    image = draw(images())
    regions = draw(regions_for(*image.shape[:2]))
    selection = np.array(draw(st.lists(st.booleans(), min_size=len(regions), max_size=len(regions))), bool)
    return image, regions, selection, draw(styles)


def may_change(regions: Regions, selection: np.ndarray, padding: float, height: int, width: int) -> np.ndarray:
    """Union of the selected boxes grown by `padding` per side, rounded outwards (a superset of every shape);
    a box with no area (or inverted) covers nothing."""
    allowed = np.zeros((height, width), bool)
    for (x0, y0, x1, y1), on in zip(regions.boxes.astype(float), selection, strict=True):
        if on and x1 > x0 and y1 > y0:
            px, py = (x1 - x0) * padding, (y1 - y0) * padding
            left, top = max(0, math.floor(x0 - px)), max(0, math.floor(y0 - py))
            right, bottom = max(0, min(width, math.ceil(x1 + px))), max(0, min(height, math.ceil(y1 + py)))
            allowed[top:bottom, left:right] = True
    return allowed


@settings(max_examples=200, deadline=None)
@given(scenes(), st.integers(0, 2**32 - 1))
def test_only_selected_padded_boxes_change_and_the_image_keeps_its_form(scene, seed):
    image, regions, selection, style = scene
    before = image.copy()
    out = render(image, regions, selection, style, seed=seed)
    assert (image == before).all()  # the input is never written
    assert out.shape == image.shape and out.dtype == np.uint8
    allowed = may_change(regions, selection, style.padding, *image.shape[:2])
    assert (out[~allowed] == image[~allowed]).all()
    if image.shape[2] == 4:
        assert (out[..., 3] == image[..., 3]).all()


@settings(max_examples=100, deadline=None)
@given(scenes(), st.integers(0, 2**32 - 1))
def test_unselected_regions_change_nothing(scene, seed):
    image, regions, selection, style = scene
    with_all = render(image, regions, selection, style, seed=seed)
    only_selected = render(image, regions[selection], None, style, seed=seed)
    assert (with_all == only_selected).all()
    assert (render(image, regions, np.zeros(len(regions), bool), style, seed=seed) == image).all()


@settings(max_examples=100, deadline=None)
@given(images(), st.data())
def test_a_filled_box_is_exactly_the_colour(image, data):
    regions = data.draw(regions_for(*image.shape[:2]))
    style = data.draw(styles).with_(method="fill", shape="box")
    regions = Regions(regions.boxes, regions.scores, regions.labels, regions.detectors, regions.ids)  # boxes only
    out = render(image, regions, None, style)
    painted = may_change(regions, np.ones(len(regions), bool), style.padding, *image.shape[:2])
    assert (out[painted][:, :3] == style.colour).all()
    assert (out[~painted] == image[~painted]).all()
