"""The per-image work as one function of (image bytes, loaded detectors, settings) -> (output bytes,
report), so the CLI, the app and a distributed engine (e.g. Ray Data's map over bytes) share it."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from anonymiser.detection_cache import DetectionCache, cache_key
from anonymiser.images import LoadedImage, encode_image, load_image, output_format
from anonymiser.render import render, selection_mask
from anonymiser.report import build_report
from anonymiser.style import Style
from detectors.engine import DEFAULT_KINDS, DetectionResult, detect, parse_kinds
from detectors.registry import Registry, default_registry


@dataclass(frozen=True)
class Settings:
    kinds: tuple[str, ...] = DEFAULT_KINDS
    thresholds: dict[str, float] = field(default_factory=dict)
    style: Style = Style()
    format: str = "same"
    prompt: str | None = None

    @classmethod
    def create(cls, kinds: Any = None, thresholds: dict[str, float] | None = None, style: Style | None = None,
               format: str = "same", prompt: str | None = None) -> Settings:
        return cls(tuple(parse_kinds(kinds)), dict(thresholds or {}), style or Style(), format, prompt or None)


@dataclass
class Outcome:
    data: bytes
    extension: str
    report: dict[str, Any]
    image: LoadedImage
    detection: DetectionResult
    output: np.ndarray


def run_detection(image: LoadedImage, settings: Settings, registry: Registry) -> DetectionResult:
    kwargs = {"prompt": settings.prompt} if settings.prompt else {}
    return detect(image.rgb, settings.kinds, settings.thresholds, registry, **kwargs)


def anonymise_bytes(data: bytes, settings: Settings = Settings(), registry: Registry | None = None,
                    selection: Any = None, source: str = "", detection: DetectionResult | None = None,
                    cache: DetectionCache | None = None) -> Outcome:
    """Decode, detect, render the default selection (or `selection`), encode without metadata, report.

    `detection` skips the detectors: the app passes the regions the user reviewed (boxes in the pixels of
    the EXIF-oriented image); `cache` answers for a photo detected before with the same settings.
    Raises anonymiser.images.ImageError for unusable input (the message is for the user).
    """
    registry = registry or default_registry()
    timings: dict[str, float] = {}
    start = time.perf_counter()
    image = load_image(data)
    fmt = output_format(settings.format, image.format)
    timings["decode_ms"] = ms_since(start)
    start = time.perf_counter()
    if detection is not None:
        found = detection
    elif cache is not None:
        found = cache.get_or_run(cache_key(data, settings), lambda: run_detection(image, settings, registry))
    else:
        found = run_detection(image, settings, registry)
    timings["detect_ms"] = ms_since(start)
    chosen = found.selected if selection is None else selection_mask(found.regions, selection)
    start = time.perf_counter()
    output = render(image.pixels, found.regions, chosen, settings.style)
    timings["render_ms"] = ms_since(start)
    start = time.perf_counter()
    encoded = encode_image(output, fmt, grey=image.grey)
    timings["encode_ms"] = ms_since(start)
    report = build_report(source, image, found, chosen, settings, fmt, timings)
    return Outcome(encoded, extension_of(fmt), report, image, found, output)


def extension_of(fmt: str) -> str:
    from anonymiser.images import OUTPUT_FORMATS

    return OUTPUT_FORMATS[fmt]


def ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
