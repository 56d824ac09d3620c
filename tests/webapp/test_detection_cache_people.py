"""/anonymise after /detect with people: the silhouettes come from the cache, not from a second detection."""
from __future__ import annotations

import numpy as np
import pytest

from anonymiser import pipeline
from anonymiser.images import load_image
from anonymiser.settings import Settings
from webapp import detection_cache
from webapp.detection_cache import DetectionCache

pytest.importorskip("ai_edge_litert", reason="person masks need ai-edge-litert (requirements.txt)")


def test_people_with_masks_are_detected_once_and_rendered_the_same(eval_dir, registry, monkeypatch):
    data = (eval_dir / "images" / "ultra_zidane.jpg").read_bytes()
    runs = []
    monkeypatch.setattr(detection_cache, "run_detection",
                        lambda *args: runs.append(1) or pipeline.run_detection(*args))
    cache, settings = DetectionCache(), Settings.parse("people")
    detect = cache.detector(settings, registry)
    first = detect(data, load_image(data))
    second = detect(data, load_image(data))
    assert len(runs) == 1
    masks = [m for m in first.regions.masks if m is not None]
    assert masks and 0 < cache.nbytes < sum(m.size for m in masks) / 4  # packed: well under a byte a pixel
    assert all(np.array_equal(a, b) for a, b in zip(first.regions.masks, second.regions.masks, strict=True)
               if a is not None)
    once = pipeline.anonymise_bytes(data, settings, registry, detection=first, seed=0)
    again = pipeline.anonymise_bytes(data, settings, registry, detection=second, seed=0)
    assert once.data == again.data
