"""The detection cache: one detector run per photo and settings, bounded in count and time."""
import numpy as np
import pytest

from anonymiser.settings import Settings
from detectors.engine import DetectionResult
from detectors.regions import Regions
from webapp.detection_cache import DetectionCache, cache_key


def counting_run(unavailable: dict[str, str] | None = None, masks: list | None = None):
    calls = []

    def run() -> DetectionResult:
        calls.append(1)
        regions = Regions.create(np.array([[0, 0, 10, 10]], np.float32), [0.9], ["face"], "retinaface", masks=masks)
        return DetectionResult(regions, np.array([True]), unavailable=dict(unavailable or {}))

    return run, calls


def test_the_key_changes_with_bytes_kinds_thresholds_and_prompt():
    base = cache_key(b"photo", Settings.parse("faces"))
    assert base == cache_key(b"photo", Settings.parse("faces"))
    assert len({base, cache_key(b"photo2", Settings.parse("faces")), cache_key(b"photo", Settings.parse("plates")),
                cache_key(b"photo", Settings.parse("faces", {"faces": 0.5})),
                cache_key(b"photo", Settings.parse("faces", prompt="a cat"))}) == 5


def test_a_second_call_with_the_same_key_does_not_run_the_detectors():
    cache, (run, calls) = DetectionCache(), counting_run()
    first = cache.get_or_run("k", run)
    assert cache.get_or_run("k", run) is first and len(calls) == 1


@pytest.mark.parametrize("unavailable, masks", [({"silhouettes": "downloading"}, None),
                                               ({}, [np.ones((10, 10), bool)])])
def test_results_with_an_unavailable_detector_or_with_masks_are_not_kept(unavailable, masks):
    cache, (run, calls) = DetectionCache(), counting_run(unavailable, masks)
    cache.get_or_run("k", run)
    cache.get_or_run("k", run)
    assert len(calls) == 2


def test_entries_expire_and_the_oldest_goes_first():
    cache, (run, calls) = DetectionCache(size=2, seconds=3600), counting_run()
    for key in ("a", "b", "c"):
        cache.get_or_run(key, run)
    assert list(cache.entries) == ["b", "c"]
    cache.seconds = 0
    cache.get_or_run("b", run)
    assert len(calls) == 4 and list(cache.entries) == ["b"]
