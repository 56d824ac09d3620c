"""The last few detections, by photo content and detection settings.

The documented API flow is /detect (look at the regions) then /anonymise (get the image) on the same photo;
without this the second call would run every detector again, doubling the server's load. Boxes, scores and
shapes are kept, and masks packed: each cropped to where it is set and stored one bit a pixel (a person's
silhouette in a 12 MP photo: ~0.3 MB, not 12 MB), their bytes counted against `max_bytes`. Kept for at most
`seconds` (the uploads' time-to-live), at most `size` photos and `max_bytes` of masks: enough for every request
the queue lets wait, or a burst of users evicts its own detections before their /anonymise comes. Not kept: a
result with an unavailable detector (a model that finishes loading is used on the next call).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from anonymiser.images import LoadedImage
from anonymiser.pipeline import DetectFn, run_detection
from anonymiser.settings import Settings
from detectors.engine import DetectionResult
from detectors.registry import Registry


def cache_key(data: bytes, settings: Settings) -> str:
    """What decides the detectors' output: the file's bytes, the kinds, the thresholds and the prompt."""
    detection = json.dumps([settings.kinds, sorted(settings.thresholds.items()), settings.prompt])
    return hashlib.sha256(data).hexdigest() + hashlib.sha256(detection.encode()).hexdigest()


@dataclass(frozen=True)
class PackedMask:
    """A bool mask as the rectangle holding its set pixels, one bit a pixel."""

    shape: tuple[int, int]
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 of the set pixels
    bits: np.ndarray

    @classmethod
    def of(cls, mask: np.ndarray) -> PackedMask:
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        if not len(rows):
            return cls(mask.shape, (0, 0, 0, 0), np.zeros(0, np.uint8))
        box = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
        return cls(mask.shape, box, np.packbits(mask[box[1]:box[3], box[0]:box[2]]))

    def unpacked(self) -> np.ndarray:
        out = np.zeros(self.shape, bool)
        x0, y0, x1, y1 = self.box
        count = (x1 - x0) * (y1 - y0)
        out[y0:y1, x0:x1] = np.unpackbits(self.bits, count=count).astype(bool).reshape(y1 - y0, x1 - x0)
        return out


@dataclass(frozen=True)
class Kept:
    """A result as stored: its masks packed apart (the stored result has none)."""

    stored: float
    result: DetectionResult
    masks: tuple[PackedMask | None, ...]

    @property
    def nbytes(self) -> int:
        return sum(m.bits.nbytes for m in self.masks if m is not None)

    @classmethod
    def of(cls, result: DetectionResult) -> Kept:
        masks = tuple(None if m is None else PackedMask.of(m) for m in result.regions.masks)
        regions = dataclasses.replace(result.regions, masks=[None] * len(result.regions))
        return cls(time.monotonic(), dataclasses.replace(result, regions=regions), masks)

    def restored(self) -> DetectionResult:
        """A fresh result with full-size masks (callers may change it without touching the kept one)."""
        masks = [None if m is None else m.unpacked() for m in self.masks]
        return dataclasses.replace(self.result, regions=dataclasses.replace(self.result.regions, masks=masks),
                                   selected=self.result.selected.copy())


class DetectionCache:
    def __init__(self, size: int = 64, seconds: float = 1800, max_bytes: int = 256 * 2**20) -> None:
        self.size, self.seconds, self.max_bytes = size, seconds, max_bytes
        self.entries: OrderedDict[str, Kept] = OrderedDict()
        self.lock = threading.Lock()

    def get_or_run(self, key: str, run: Callable[[], DetectionResult]) -> DetectionResult:
        """The kept result for `key` if it is fresh, else `run()` (kept when every detector ran)."""
        with self.lock:
            self.forget_expired()
            if key in self.entries:
                self.entries.move_to_end(key)
                return self.entries[key].restored()
        result = run()  # outside the lock: detectors have their own
        if not result.unavailable:
            kept = Kept.of(result)
            if kept.nbytes <= self.max_bytes:
                with self.lock:
                    self.entries[key] = kept
                    while len(self.entries) > self.size or self.nbytes > self.max_bytes:
                        self.entries.popitem(last=False)
        return result

    @property
    def nbytes(self) -> int:
        """Bytes of packed masks kept (boxes and scores are a few kB a photo and not counted)."""
        return sum(kept.nbytes for kept in self.entries.values())

    def detector(self, settings: Settings, registry: Registry) -> DetectFn:
        """The pipeline's `detect_with`: answers from this cache, runs the detectors on a miss."""
        def detect(data: bytes, image: LoadedImage) -> DetectionResult:
            return self.get_or_run(cache_key(data, settings), lambda: run_detection(image, settings, registry))
        return detect

    def forget_expired(self) -> None:
        cutoff = time.monotonic() - self.seconds
        for key in [k for k, kept in self.entries.items() if kept.stored < cutoff]:
            del self.entries[key]
