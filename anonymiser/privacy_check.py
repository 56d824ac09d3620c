"""The privacy check: run the face and plate detectors again on the anonymised result and say what they
still find, before the user downloads it.

A finding is explained against the reviewed regions: one the user turned off, one that was anonymised but is
still detected (stronger settings needed), or one no region covers (the detectors missed it the first time).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from anonymiser.pipeline import DetectFn, Outcome, anonymise_bytes
from anonymiser.settings import Settings
from anonymiser.style import Style
from detectors.engine import DetectionResult, detect
from detectors.geometry import inside
from detectors.regions import Regions
from detectors.registry import Registry

CHECK_KINDS = ("faces", "plates")
COVERED = 0.3  # a finding counts as inside a region when this share of its area is


@dataclass
class Finding:
    region: dict[str, Any]  # the finding as a region row (box in image pixels)
    reason: str  # "turned off", "still detected after anonymisation" or "not covered by any region"
    region_id: str  # the reviewed region it falls in, "" when none


@dataclass
class PrivacyCheck:
    findings: list[Finding]
    unavailable: dict[str, str]

    @property
    def clean(self) -> bool:
        return not self.findings and not self.unavailable

    def summary(self) -> str:
        """One line for the user."""
        if not self.findings:
            text = "no face or licence plate found in the result"
        else:
            labels = " / ".join(sorted({f.region["label"] for f in self.findings}))
            text = f"{len(self.findings)} {labels} region(s) still found in the result"
        if self.unavailable:
            text += f"; not checked for {', '.join(sorted(self.unavailable))} (detector unavailable)"
        return text

    def to_json(self) -> dict[str, Any]:
        return {"kinds": list(CHECK_KINDS), "summary": self.summary(),
                "findings": [{**f.region, "reason": f.reason, "region_id": f.region_id} for f in self.findings],
                "unavailable": self.unavailable}


def check_output(pixels: np.ndarray, regions: Regions, selected: np.ndarray, registry: Registry,
                 thresholds: dict[str, float] | None = None, style: Style = Style()) -> PrivacyCheck:
    """Detect faces and plates in `pixels` (the rendered output) and explain each default-selected finding
    against the reviewed `regions` and their `selected` flags. A finding inside a region filled with a solid
    colour is dropped: a plate-shaped block is found again by shape, but it shows nothing."""
    found: DetectionResult = detect(np.ascontiguousarray(pixels[..., :3]), CHECK_KINDS,
                                    {k: v for k, v in (thresholds or {}).items() if k in CHECK_KINDS}, registry)
    hits = found.regions[found.selected]
    filled = np.asarray([style.method_for(str(label)) == "fill" for label in regions.labels], bool)
    explained = [explain(row, hits.boxes[i], regions, np.asarray(selected, bool), filled)
                 for i, row in enumerate(hits)]
    return PrivacyCheck([f for f in explained if f is not None], dict(found.unavailable))


def explain(row: dict[str, Any], box: np.ndarray, regions: Regions, selected: np.ndarray,
            filled: np.ndarray) -> Finding | None:
    if not len(regions):
        return Finding(row, "not covered by any region", "")
    share = inside(box, regions.boxes)[0]
    best = int(np.argmax(share))
    if share[best] < COVERED:
        return Finding(row, "not covered by any region", "")
    on = np.flatnonzero((share >= COVERED) & selected)
    if len(on) and filled[on].any():
        return None
    if len(on):
        return Finding(row, "still detected after anonymisation", str(regions.ids[on[0]]))
    return Finding(row, "turned off", str(regions.ids[best]))


def anonymise_checked(data: bytes, settings: Settings, registry: Registry, source: str = "",
                      detection: DetectionResult | None = None,
                      detect_with: DetectFn | None = None) -> tuple[Outcome, PrivacyCheck]:
    """`anonymise_bytes` (with the reviewed `detection` or `detect_with`, if given) followed by the privacy
    check, whose result joins the report under "privacy_check"."""
    outcome = anonymise_bytes(data, settings, registry, source=source, detection=detection, detect_with=detect_with)
    selected = np.asarray([row["selected"] for row in outcome.report["regions"]], bool)
    check = check_output(outcome.output, outcome.detection.regions, selected, registry, settings.thresholds,
                         settings.style)
    outcome.report["privacy_check"] = check.to_json()
    return outcome, check
