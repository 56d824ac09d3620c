"""Silhouettes are padded like boxes: a mask grows by the padding x the shorter side of its box, no further."""
from __future__ import annotations

import numpy as np

from anonymiser.render import render
from anonymiser.style import Style
from detectors.regions import Regions


def scene(padding: float) -> tuple[np.ndarray, np.ndarray]:
    """A striped photo with one person-shaped mask (a 20 px wide bar in a 100x200 box); the pixels changed."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (300, 300, 3), dtype=np.uint8)
    mask = np.zeros((300, 300), bool)
    mask[50:250, 140:160] = True
    regions = Regions.create([[100, 50, 200, 250]], [0.9], "person", "people", masks=[mask])
    out = render(image, regions, style=Style(method="fill", shape="mask", padding=padding), seed=0)
    return mask, (out != image).any(axis=2)


def test_without_padding_only_the_mask_changes():
    mask, changed = scene(0.0)
    assert np.array_equal(changed, mask)


def test_padding_grows_the_mask_by_its_share_of_the_box_and_stays_in_the_padded_box():
    mask, changed = scene(0.2)  # 0.2 x the box's 100 px width: 20 px all round
    assert changed[mask].all()
    assert changed[150, 122] and changed[150, 178] and changed[32, 150]  # 18 px beside and above the bar
    assert not changed[150, 115] and not changed[150, 185]  # 25 px beside it: beyond the padding
    assert not changed[:10].any() and not changed[290:].any()  # the padded box ends 40 px from the box
