"""The engine runs independent detectors side by side, and gives the same regions as one after the other."""
from __future__ import annotations

import threading

import numpy as np

from detectors import engine
from detectors.registry import Registry, load_config


def test_faces_and_plates_run_at_the_same_time(eval_image):
    """Both detectors must be inside `detect` at once to pass the barrier: run one after the other, the first
    would wait for the second until the barrier breaks."""
    registry = Registry(load_config())
    barrier = threading.Barrier(2, timeout=20)
    for name in ("retinaface", "plates"):
        detector = registry.get(name)

        def meet(image, threshold, _real=detector.detect, **kwargs):
            barrier.wait()
            return _real(image, threshold, **kwargs)
        detector.detect = meet
    result = engine.detect(eval_image("litealpr_wild04.png"), "faces,plates", registry=registry)
    assert not barrier.broken and set(result.timings_ms) == {"retinaface", "plates"}


def test_side_by_side_finds_what_one_after_the_other_finds(eval_image):
    image = eval_image("litealpr_wild04.png")
    registry = Registry(load_config())
    together = engine.detect(image, "faces,plates", registry=registry)
    apart = [engine.detect(image, kind, registry=registry) for kind in ("faces", "plates")]
    assert set(together.regions.labels) == {"face", "plate"}
    for kind, alone in zip(("face", "plate"), apart, strict=True):
        mine = together.regions.labels == kind
        np.testing.assert_allclose(np.sort(together.regions.scores[mine]), np.sort(alone.regions.scores))
        assert together.selected[mine].sum() == alone.selected.sum()
