"""The last few detections, by photo content and detection settings.

The documented API flow is /detect (look at the regions) then /anonymise (get the image) on the same photo;
without this the second call would run every detector again, doubling the server's load. Only boxes, scores
and shapes are kept (no pixels), a few kB per photo, for at most `seconds` (the uploads' time-to-live) and at
most `size` photos: enough for every request the queue lets wait, or a burst of users evicts its own
detections before their /anonymise comes. Not kept: a result with an unavailable detector (a model that
finishes loading is used on the next call) and one with pixel masks (megabytes each, at full size).
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from anonymiser.images import LoadedImage
from anonymiser.pipeline import DetectFn, run_detection
from anonymiser.settings import Settings
from detectors.engine import DetectionResult
from detectors.registry import Registry


def cache_key(data: bytes, settings: Settings) -> str:
    """What decides the detectors' output: the file's bytes, the kinds, the thresholds and the prompt."""
    detection = json.dumps([settings.kinds, sorted(settings.thresholds.items()), settings.prompt])
    return hashlib.sha256(data).hexdigest() + hashlib.sha256(detection.encode()).hexdigest()


class DetectionCache:
    def __init__(self, size: int = 64, seconds: float = 1800) -> None:
        self.size, self.seconds = size, seconds
        self.entries: OrderedDict[str, tuple[float, DetectionResult]] = OrderedDict()
        self.lock = threading.Lock()

    def get_or_run(self, key: str, run: Callable[[], DetectionResult]) -> DetectionResult:
        """The kept result for `key` if it is fresh, else `run()` (kept when every detector ran, masks aside)."""
        with self.lock:
            self.forget_expired()
            if key in self.entries:
                self.entries.move_to_end(key)
                return self.entries[key][1]
        result = run()  # outside the lock: detectors have their own
        if not result.unavailable and all(mask is None for mask in result.regions.masks):
            with self.lock:
                self.entries[key] = (time.monotonic(), result)
                while len(self.entries) > self.size:
                    self.entries.popitem(last=False)
        return result

    def detector(self, settings: Settings, registry: Registry) -> DetectFn:
        """The pipeline's `detect_with`: answers from this cache, runs the detectors on a miss."""
        def detect(data: bytes, image: LoadedImage) -> DetectionResult:
            return self.get_or_run(cache_key(data, settings), lambda: run_detection(image, settings, registry))
        return detect

    def forget_expired(self) -> None:
        cutoff = time.monotonic() - self.seconds
        for key in [k for k, (stored, _) in self.entries.items() if stored < cutoff]:
            del self.entries[key]
