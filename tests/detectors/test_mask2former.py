"""Mask2Former plumbing on a tiny random model of the real architecture (Swin backbone), loaded like a Hub model.

The masks are checked against transformers' own instance post-processing of the same outputs: same number of
regions, outlines that agree (ours upsampled from logits, theirs binarised at 384 x 384) and close scores.
"""
from __future__ import annotations

import numpy as np
import pytest

from detectors.engine import detect
from tests.detectors.conftest import MASK2FORMER_CLASSES, registry_with


@pytest.fixture(scope="module")
def m2f(tiny_mask2former):
    registry = registry_with(mask2former=str(tiny_mask2former))
    registry.config["kinds"]["silhouettes"]["detector"] = "mask2former"  # the Hub choice (embedded by default)
    return registry, registry.get("mask2former")


def reference(detector, image: np.ndarray, threshold: float) -> list[tuple[str, float, np.ndarray]]:
    """transformers' post_process_instance_segmentation on the same image: (label, score, mask) per instance."""
    import torch

    inputs = detector.processor(images=image, return_tensors="pt")
    with torch.inference_mode():
        outputs = detector.model(pixel_values=inputs["pixel_values"])
    result = detector.processor.post_process_instance_segmentation(
        outputs, threshold=threshold, target_sizes=[image.shape[:2]], return_binary_maps=True)[0]
    return [(MASK2FORMER_CLASSES[info["label_id"]], info["score"], result["segmentation"][i].numpy().astype(bool))
            for i, info in enumerate(result["segments_info"])]


@pytest.mark.parametrize("shape", ["landscape", "portrait"])
def test_mask2former_plumbing_masks_are_full_size_silhouettes(m2f, photos, shape):
    registry, detector = m2f
    image = photos[shape]
    height, width = image.shape[:2]
    threshold = 0.0
    found = detector.detect(image, threshold)
    assert len(found) > 0 and set(found.detectors) == {"mask2former"}
    assert set(found.labels) <= set(MASK2FORMER_CLASSES)
    for box, mask in zip(found.boxes, found.masks, strict=True):
        assert mask.dtype == bool and mask.shape == (height, width) and mask.any()
        rows, cols = np.nonzero(mask)
        np.testing.assert_array_equal(box, [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1])
    expected = reference(detector, image, threshold)
    assert len(expected) == len(found)
    for label, score, theirs in expected:
        same = np.flatnonzero(found.labels == label)
        ious = [(found.masks[i] & theirs).sum() / (found.masks[i] | theirs).sum() for i in same]
        best = same[int(np.argmax(ious))]
        assert max(ious) > 0.9, f"{label} {score}: IoU {max(ious):.2f} with transformers' mask"
        # transformers scores the mask at 384 x 384, we at the model's own resolution: close, not equal
        assert found.scores[best] == pytest.approx(score, rel=0.03)


def test_mask2former_plumbing_threshold(m2f, photos):
    registry, detector = m2f
    image = photos["landscape"]
    everything = detector.detect(image, 0.0)
    threshold = float(np.median(everything.scores))
    suggest = registry.settings("mask2former")["suggest"]
    found = detector.detect(image, threshold)
    assert len(found) == int((everything.scores >= threshold * suggest).sum())
    np.testing.assert_array_equal(detector.accepts(found, threshold), found.scores >= threshold)


def test_mask2former_plumbing_silhouettes_kind(m2f, photos):
    """The kind `silhouettes` is the detector's person regions, masks included."""
    registry, detector = m2f
    image = photos["landscape"]
    people = detector.detect(image, 0.0)
    people = people[people.labels == "person"]
    result = detect(image, "silhouettes", {"silhouettes": 0.0}, registry)
    assert not result.unavailable and len(result.regions) == len(people) > 0
    assert set(result.regions.labels) == {"person"} and all(m is not None for m in result.regions.masks)
    assert sorted(result.regions.scores.tolist()) == pytest.approx(sorted(people.scores.tolist()))
    assert "segmentation model" in result.models
