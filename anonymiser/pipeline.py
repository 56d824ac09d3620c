"""The per-image work as one function of (image bytes, loaded detectors, settings) -> (output bytes,
report), so the CLI, the app and a distributed engine (e.g. Ray Data's map over bytes) share it."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from anonymiser.images import LoadedImage, encode_image, load_image, output_format
from anonymiser.render import render, selection_mask
from anonymiser.report import build_report
from anonymiser.settings import Settings
from detectors.engine import DetectionResult, detect
from detectors.registry import Registry, default_registry


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


DetectFn = Callable[[bytes, LoadedImage], DetectionResult]  # (file bytes, decoded image) -> regions


def anonymise_bytes(data: bytes, settings: Settings = Settings(), registry: Registry | None = None,
                    selection: Any = None, source: str = "", detection: DetectionResult | None = None,
                    detect_with: DetectFn | None = None, seed: int | None = None) -> Outcome:
    """Decode, detect, render the default selection (or `selection`), encode without metadata, report.

    `detection` skips the detectors: the app passes the regions the user reviewed (boxes in the pixels of
    the EXIF-oriented image); `detect_with` replaces the detectors' run (the app answers from its cache of
    recent detections). `seed` makes the mosaic's noise reproducible (default: fresh randomness).
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
    elif detect_with is not None:
        found = detect_with(data, image)
    else:
        found = run_detection(image, settings, registry)
    timings["detect_ms"] = ms_since(start)
    chosen = found.selected if selection is None else selection_mask(found.regions, selection)
    start = time.perf_counter()
    output = render(image.pixels, found.regions, chosen, settings.style, seed=seed)
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
