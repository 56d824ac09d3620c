"""The detection cache: one detector run per photo and settings, bounded in count and time."""
import numpy as np

from anonymiser.settings import Settings
from detectors.engine import DetectionResult
from detectors.regions import Regions
from webapp.detection_cache import DetectionCache, PackedMask, cache_key


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
    again = cache.get_or_run("k", run)
    assert len(calls) == 1
    assert again.regions.to_json() == first.regions.to_json() and again.selected.tolist() == first.selected.tolist()


def test_results_with_an_unavailable_detector_are_not_kept():
    cache, (run, calls) = DetectionCache(), counting_run({"silhouettes": "downloading"})
    cache.get_or_run("k", run)
    cache.get_or_run("k", run)
    assert len(calls) == 2


def silhouette(shape=(480, 640)) -> np.ndarray:
    mask = np.zeros(shape, bool)
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    mask[((yy - 240) / 150) ** 2 + ((xx - 300) / 60) ** 2 <= 1] = True
    return mask


def test_results_with_masks_are_kept_packed_and_given_back_whole():
    mask = silhouette()
    cache, (run, calls) = DetectionCache(), counting_run(masks=[mask])
    cache.get_or_run("k", run)
    again = cache.get_or_run("k", run)
    assert len(calls) == 1
    assert again.regions.masks[0].shape == mask.shape and np.array_equal(again.regions.masks[0], mask)
    assert cache.nbytes <= (121 * 301) // 8 + 1  # the mask's own rectangle at one bit a pixel, not 640x480 bytes
    again.regions.masks[0][:] = False  # a caller changing its copy leaves the kept one whole
    assert np.array_equal(cache.get_or_run("k", run).regions.masks[0], mask)


def test_masks_count_against_the_byte_budget():
    one = PackedMask.of(silhouette()).bits.nbytes
    cache, (run, calls) = DetectionCache(max_bytes=2 * one), counting_run(masks=[silhouette()])
    for key in ("a", "b", "c"):
        cache.get_or_run(key, run)
    assert list(cache.entries) == ["b", "c"] and cache.nbytes == 2 * one
    small = DetectionCache(max_bytes=one - 1)  # one result is larger than the whole budget: run, not kept
    small.get_or_run("d", run)
    assert not small.entries and len(calls) == 4


def test_an_empty_mask_packs_to_nothing_and_comes_back_empty():
    packed = PackedMask.of(np.zeros((5, 7), bool))
    assert packed.bits.nbytes == 0 and packed.unpacked().shape == (5, 7) and not packed.unpacked().any()


def test_entries_expire_and_the_oldest_goes_first():
    cache, (run, calls) = DetectionCache(size=2, seconds=3600), counting_run()
    for key in ("a", "b", "c"):
        cache.get_or_run(key, run)
    assert list(cache.entries) == ["b", "c"]
    cache.seconds = 0
    cache.get_or_run("b", run)
    assert len(calls) == 4 and list(cache.entries) == ["b"]
