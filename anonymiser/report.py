"""The JSON report of one image: what was found, what was anonymised and how, what metadata was removed."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from anonymiser import __version__

if TYPE_CHECKING:
    from anonymiser.images import LoadedImage
    from anonymiser.settings import Settings
    from detectors.engine import DetectionResult
    from detectors.regions import Regions


def region_rows(regions: Regions, selected: np.ndarray) -> list[dict[str, Any]]:
    """The regions as JSON rows, each with `selected` (false for suggestions and regions turned off)."""
    rows = regions.to_json()
    for row, on in zip(rows, selected, strict=True):
        row["selected"] = bool(on)
    return rows


def build_report(source: str, image: LoadedImage, found: DetectionResult, selected: np.ndarray,
                 settings: Settings, fmt: str, timings: dict[str, float]) -> dict[str, Any]:
    rows = region_rows(found.regions, selected)
    height, width = image.pixels.shape[:2]
    labels = sorted({r["label"] for r in rows})
    return {
        "tool": f"image-anonymiser {__version__}",
        "source": source,
        "size": [width, height],
        "input_format": image.format,
        "output_format": fmt,
        "kinds": list(settings.kinds),
        "prompt": settings.prompt,
        "thresholds": settings.thresholds,
        "style": settings.style.to_json(),
        "methods": {label: settings.style.method_for(label) for label in labels},
        "regions": rows,
        "counts": {label: {"found": sum(r["label"] == label for r in rows),
                           "anonymised": sum(r["label"] == label and r["selected"] for r in rows)}
                   for label in labels},
        "models": found.models,
        "unavailable": found.unavailable,
        "metadata_removed": image.metadata_found,
        "notes": image.notes,
        "timings_ms": {**timings, **{f"detector_{k}_ms": v for k, v in found.timings_ms.items()}},
    }
