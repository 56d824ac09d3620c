"""Image -> regions: resolves what the user asked for (kinds) to detectors and runs them.

Kinds are the names users see (`faces`, `plates`, `people`, `vehicles`, `text`, `qr`, or any COCO class
name such as `dog`). Each kind maps to one detector and the labels it keeps; its threshold decides which
regions are selected by default, and regions just below it come back as suggestions.
"""
from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from detectors.regions import Regions
from detectors.registry import DetectorUnavailable, Registry, default_registry

DEFAULT_KINDS = ("faces", "plates")
PROMPT_KIND = "prompt"  # what the user types; the detector that reads it is named in detectors.toml [prompt]


@dataclass(frozen=True)
class Kind:
    name: str
    detector: str
    labels: tuple[str, ...]


@dataclass
class DetectionResult:
    """Regions (suggestions included), which are selected by default, and what happened on the way."""

    regions: Regions
    selected: np.ndarray
    timings_ms: dict[str, float] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)


def parse_kinds(kinds: str | Iterable[str] | None) -> list[str]:
    if kinds is None:
        return list(DEFAULT_KINDS)
    if isinstance(kinds, str):
        kinds = kinds.split(",")
    return [k.strip().lower() for k in kinds if k and k.strip()]


def resolve(kind: str, registry: Registry) -> Kind:
    """A kind by name; any label the COCO detector knows (e.g. `dog`) is a kind of its own."""
    table = registry.config["kinds"]
    if kind in table:
        entry = table[kind]
        return Kind(kind, entry["detector"], tuple(entry["labels"]))
    from detectors.coco_labels import COCO_LABELS  # a plain list: no model is loaded here

    if kind in COCO_LABELS:
        return Kind(kind, "ssd_coco", (kind,))
    known = ", ".join(list(table) + ["<any COCO class>"])
    raise ValueError(f"unknown kind {kind!r}; choose from {known}")


def prompt_phrases(prompt: str | None) -> list[str]:
    """ "tattoo, logo,, ID card " -> ["tattoo", "logo", "ID card"] (order kept, duplicates dropped)."""
    phrases = (p.strip() for p in (prompt or "").split(","))
    return list(dict.fromkeys(p for p in phrases if p))


def prompt_kind(prompt: str, registry: Registry) -> Kind:
    return Kind(PROMPT_KIND, registry.prompt_detector(), tuple(prompt_phrases(prompt)))


def detect(image: np.ndarray, kinds: str | Iterable[str] | None = None,
           thresholds: dict[str, float] | None = None, registry: Registry | None = None,
           prompt: str | None = None) -> DetectionResult:
    """Run the detectors for `kinds` on an RGB uint8 image. Unavailable detectors are reported, not fatal.

    `prompt` ("tattoo, logo, name badge") also runs the open-vocabulary detector: kind and threshold key "prompt".
    """
    registry = registry or default_registry()
    thresholds = thresholds or {}
    resolved = [resolve(k, registry) for k in parse_kinds(kinds)]
    no_prompt_model = bool(prompt_phrases(prompt)) and not registry.prompt_detector()
    if prompt_phrases(prompt) and not no_prompt_model:
        resolved.append(prompt_kind(prompt, registry))
    by_detector: dict[str, list[Kind]] = {}
    for kind in resolved:
        by_detector.setdefault(kind.detector, []).append(kind)
    parts, selections = [], []
    result = DetectionResult(Regions.empty(), np.zeros(0, bool))
    if no_prompt_model:
        result.unavailable[PROMPT_KIND] = "no prompt model is configured in detectors.toml [prompt]."
    loaded = {}
    for name, wanted in by_detector.items():
        try:
            loaded[name] = registry.get(name)
        except DetectorUnavailable as exc:
            for kind in wanted:
                result.unavailable[kind.name] = str(exc)
    found_by: dict[str, tuple[float, Regions]] = {}  # (floor, regions): a detector reusing another's finds them
    for name in sorted(loaded, key=lambda n: bool(getattr(loaded[n], "reuses", ""))):  # reusers last
        detector, wanted = loaded[name], by_detector[name]
        lowest = min(threshold_of(k, thresholds, registry) for k in wanted)
        extra: dict[str, Any] = {"prompt": prompt} if kind_is_prompt(wanted) else {}
        if getattr(detector, "reuses", "") in found_by:
            extra["reused"] = found_by[detector.reuses]
        start = time.perf_counter()
        found = detector.detect(image, lowest, **extra)
        found_by[name] = (detector.floor(lowest), found)
        result.timings_ms[name] = round((time.perf_counter() - start) * 1000, 1)
        result.models.update(detector.versions())
        for kind in wanted:
            mine = found[np.isin(found.labels.astype(str), kind.labels)]
            threshold = threshold_of(kind, thresholds, registry)
            mine = mine[detector.accepts(mine, threshold * detector.suggest)]
            parts.append(mine)
            selections.append(detector.accepts(mine, threshold))
    regions = Regions.merge(parts)
    selected = np.concatenate(selections) if selections else np.zeros(0, bool)
    order = regions.reading_order()
    result.regions, result.selected = regions[order].numbered(), selected[order]
    return result


def kind_is_prompt(kinds: list[Kind]) -> bool:
    return any(kind.name == PROMPT_KIND for kind in kinds)


def threshold_of(kind: Kind, thresholds: dict[str, Any], registry: Registry) -> float:
    value = thresholds.get(kind.name, registry.settings(kind.detector)["threshold"])
    value = float(value)
    if not 0 <= value <= 1:
        raise ValueError(f"threshold for {kind.name} must be between 0 and 1, got {value}")
    return value
