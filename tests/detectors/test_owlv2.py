"""OWLv2 and OWL-ViT plumbing on tiny random models of the real architectures, loaded like Hub models (see
conftest): these test the wiring, not what the models find.

Its box head is zeroed, so every query's box is its patch cell on the padded square: that tells exactly
where boxes must land in original image pixels, whatever the random class scores are.
"""
from __future__ import annotations

import numpy as np
import pytest

from detectors.engine import detect, prompt_phrases
from detectors.owlv2 import padded_square
from tests.detectors.conftest import OWL_PATCH, OWL_SIDE, registry_with

PROMPT = "tattoo, logo, computer screen, name badge"


def patch_cells(width: int, height: int) -> np.ndarray:
    """OWLv2's box prior: cell (i, j) of an n x n grid over the long side, centred at ((j+1)/n, (i+1)/n)."""
    n, long_side = OWL_SIDE // OWL_PATCH, max(width, height)
    cell = long_side / n
    boxes = []
    for i in range(n):
        for j in range(n):
            cx, cy = (j + 1) * cell, (i + 1) * cell
            x0, y0 = max(cx - cell / 2, 0), max(cy - cell / 2, 0)
            x1, y1 = min(cx + cell / 2, width), min(cy + cell / 2, height)
            if x1 > x0 and y1 > y0:
                boxes.append([x0, y0, x1, y1])
    return np.array(sorted(boxes))


@pytest.fixture(scope="module", params=["owlv2", "owlvit"])
def owl(request):
    """(registry whose prompt detector is the tiny model, the detector)."""
    name = request.param
    registry = registry_with(**{name: str(request.getfixturevalue(f"tiny_{name}"))})
    registry.config["prompt"]["detector"] = name
    return registry, registry.get(name)


def test_prompt_phrases_split_on_commas():
    assert prompt_phrases(" tattoo , logo,, ID card,logo ") == ["tattoo", "logo", "ID card"]
    assert prompt_phrases(" , ") == [] and prompt_phrases(None) == []


@pytest.mark.parametrize("shape", ["landscape", "portrait"])
def test_padded_square_keeps_the_image_top_left(photos, shape):
    """OWLv2's geometry: scaled to the long side, black padding only below and to the right."""
    image = photos[shape]
    height, width = image.shape[:2]
    square = padded_square(image, 96)
    inner_h, inner_w = round(height * 96 / max(height, width)), round(width * 96 / max(height, width))
    assert square.shape == (96, 96, 3) and square.dtype == np.uint8
    assert not square[inner_h:].any() and not square[:, inner_w:].any()
    assert square[:inner_h, :inner_w].mean(axis=(0, 1)) == pytest.approx(image.mean(axis=(0, 1)), abs=2)


@pytest.mark.parametrize("shape", ["landscape", "portrait"])
def test_owl_plumbing_boxes_in_original_pixels(owl, photos, shape):
    """Boxes scale by the long side (the processor pads to a square), cells in the padding are dropped."""
    image = photos[shape]
    height, width = image.shape[:2]
    found = owl[1].detect(image, 0.0, prompt=PROMPT)
    assert found.boxes.dtype == np.float32 and found.boxes.shape == (len(found), 4)
    got = found.boxes[np.lexsort(found.boxes.T[::-1])]
    np.testing.assert_allclose(got, patch_cells(width, height), atol=0.5)
    assert set(found.detectors) == {owl[1].name}
    assert all(mask is None for mask in found.masks)


def test_owl_plumbing_labels_are_the_prompt_phrases(owl, photos):
    """Each box keeps the label of its own phrase whatever the phrases' order (no index mix-up)."""
    image = photos["landscape"]
    forward = owl[1].detect(image, 0.0, prompt=PROMPT)
    backward = owl[1].detect(image, 0.0, prompt=", ".join(reversed(prompt_phrases(PROMPT))))
    assert set(forward.labels) <= set(prompt_phrases(PROMPT))
    assert len(set(forward.labels)) > 1, "the tiny model should spread boxes over several phrases"

    def by_box(regions):
        rows = zip(regions.boxes, regions.labels, regions.scores, strict=True)
        return {tuple(np.round(box, 1)): (label, score) for box, label, score in rows}
    a, b = by_box(forward), by_box(backward)
    assert a.keys() == b.keys()
    for box in a:
        assert a[box][0] == b[box][0]
        assert a[box][1] == pytest.approx(b[box][1], abs=1e-4)
    assert len(owl[1].detect(image, 0.0, prompt=" , ")) == 0


def test_owl_plumbing_threshold_and_suggestions(owl, photos):
    registry, detector = owl
    image = photos["landscape"]
    everything = detector.detect(image, 0.0, prompt=PROMPT)
    threshold = float(np.median(everything.scores))
    suggest = registry.settings(detector.name)["suggest"]
    found = detector.detect(image, threshold, prompt=PROMPT)
    assert len(found) == int((everything.scores > threshold * suggest).sum())
    assert (found.scores >= threshold * suggest).all()
    np.testing.assert_array_equal(detector.accepts(found, threshold), found.scores >= threshold)


def test_owl_plumbing_engine_prompt_kind(owl, photos):
    """The engine's `prompt` runs OWLv2 as the kind "prompt" next to other kinds, with its own threshold."""
    registry, _ = owl
    image = photos["landscape"]
    everything = detect(image, [], {"prompt": 0.0}, registry, prompt=PROMPT).regions
    threshold = float(np.median(everything.scores))
    result = detect(image, "faces", {"prompt": threshold}, registry, prompt=PROMPT)
    assert not result.unavailable
    prompted = np.isin(result.regions.labels.astype(str), prompt_phrases(PROMPT))
    assert prompted.any() and (result.regions.labels[~prompted] == "face").all()
    np.testing.assert_array_equal(result.selected[prompted], result.regions.scores[prompted] >= threshold)
    assert "prompt model" in result.models and registry.prompt_detector() in result.timings_ms
    assert not np.isin(detect(image, "faces", None, registry).regions.labels.astype(str), prompt_phrases(PROMPT)).any()
