"""The privacy check: run the face and plate detectors again on the anonymised result and say what still
leaks, before anyone downloads it.

A detection on the output is a finding only when its core keeps the input's detail there (the dev set's leak
measure, `anonymiser.leaks`): a mosaic blob or a filled block that still looks like a face to a detector shows
nothing, so it is never reported. A finding is explained against the reviewed regions: one the user turned
off, one anonymised too lightly, or one no region covers (the detectors missed it the first time). `covered`
turns findings into regions, so the next check reports none of them again.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from anonymiser.leaks import LEAK_DETAIL, details_kept
from anonymiser.pipeline import DetectFn, Outcome, anonymise_bytes
from anonymiser.render import grown
from anonymiser.settings import Settings
from detectors.engine import DetectionResult, detect, prompt_kind, prompt_phrases, resolve, threshold_of
from detectors.geometry import inside
from detectors.regions import Regions
from detectors.registry import Registry

CHECK_KINDS = ("faces", "plates")
CHECK_DETECTOR = "privacy_check"  # detector name of the regions the check added
CHECK_MARGIN = 0.25  # share of a finding's size added on each side of the region that covers it
COVERED = 0.3  # a finding belongs to a region when this share of its area is inside it
WHOLLY = 0.9  # ... and lies within a selected one when this share is
UNCOVERED, TURNED_OFF, TOO_LIGHT = ("not covered by any region", "turned off",
                                    "anonymised too lightly: choose a stronger strength or another method")


@dataclass
class Finding:
    region: dict[str, Any]  # the finding as a region row (box in image pixels)
    reason: str  # UNCOVERED, TURNED_OFF or TOO_LIGHT
    region_id: str  # the reviewed region it falls in, "" when none
    detail: float  # share of the input's detail its core keeps in the output (>= LEAK_DETAIL)

    def to_json(self) -> dict[str, Any]:
        return {**self.region, "reason": self.reason, "region_id": self.region_id, "detail": round(self.detail, 3)}


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
            text = f"{len(self.findings)} {labels} region(s) still recognisable in the result"
        if self.unavailable:
            text += f"; not checked for {', '.join(sorted(self.unavailable))} (detector unavailable)"
        return text

    def to_json(self) -> dict[str, Any]:
        return {"kinds": list(CHECK_KINDS), "summary": self.summary(), "leak_detail": LEAK_DETAIL,
                "findings": [f.to_json() for f in self.findings], "unavailable": self.unavailable}


def check_output(original: np.ndarray, output: np.ndarray, regions: Regions, selected: np.ndarray,
                 registry: Registry, thresholds: dict[str, float] | None = None) -> PrivacyCheck:
    """Detect faces and plates in `output` (the rendered `original`) at the thresholds' default selection and
    never below a threshold's value, keep those whose core still shows the original's detail, and explain
    each against the reviewed `regions` and their `selected` flags."""
    limits = {k: v for k, v in (thresholds or {}).items() if k in CHECK_KINDS}
    found: DetectionResult = detect(np.ascontiguousarray(output[..., :3]), CHECK_KINDS, limits, registry)
    least = floors(found.regions, CHECK_KINDS, limits, registry)
    hits = found.regions[found.selected & (found.regions.scores >= least)]
    detail = details_kept(original, output, hits.boxes) if len(hits) else np.zeros(0)
    selected = np.asarray(selected, bool)
    findings = [explain(row, hits.boxes[i], regions, selected, float(detail[i]))
                for i, row in enumerate(hits) if detail[i] >= LEAK_DETAIL]
    return PrivacyCheck(findings, dict(found.unavailable))


def floors(regions: Regions, kinds: Sequence[str], thresholds: dict[str, float], registry: Registry,
           prompt: str | None = None) -> np.ndarray:
    """Each region's threshold (its kind's value, else the detector's default), the value a user sees on its
    slider: nothing scoring below it is selected, whatever rule a detector has for small regions."""
    out = np.zeros(len(regions), np.float32)
    chosen = [resolve(name, registry) for name in kinds]
    if prompt_phrases(prompt) and registry.prompt_detector():
        chosen.append(prompt_kind(prompt or "", registry))
    for kind in chosen:
        out[np.isin(regions.labels.astype(str), kind.labels)] = threshold_of(kind, thresholds, registry)
    return out


def explain(row: dict[str, Any], box: np.ndarray, regions: Regions, selected: np.ndarray, detail: float) -> Finding:
    if not len(regions):
        return Finding(row, UNCOVERED, "", detail)
    share = inside(box, regions.boxes)[0]
    on = np.flatnonzero((share >= WHOLLY) & selected)
    if len(on):
        return Finding(row, TOO_LIGHT, str(regions.ids[on[0]]), detail)
    off = np.flatnonzero((share >= COVERED) & ~selected)
    if len(off):
        return Finding(row, TURNED_OFF, str(regions.ids[off[np.argmax(share[off])]]), detail)
    return Finding(row, UNCOVERED, "", detail)


def covered(regions: Regions, selected: np.ndarray, findings: list[dict[str, Any]]) -> tuple[Regions, np.ndarray]:
    """(regions, selected) with what the check found covered: the regions a finding fell in turned on, and each
    uncovered finding added as a region of its own (detector CHECK_DETECTOR, numbered after the others): a
    rectangle CHECK_MARGIN larger a side, so the detector finding it again a little shifted, or a face's
    ellipse leaving its corners, cannot make the next check report it again."""
    selected = np.asarray(selected, bool).copy()
    ids = regions.ids.astype(str)
    for f in findings:
        if f["reason"] == TURNED_OFF:
            selected[ids == f["region_id"]] = True
    new = [f for f in findings if f["reason"] == UNCOVERED]
    if not new:
        return regions, selected
    boxes = np.asarray([grown(np.asarray(f["box"]), CHECK_MARGIN) for f in new], np.float32).reshape(-1, 4)
    corners = [np.asarray([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32) for x0, y0, x1, y1 in boxes]
    added = Regions.create(boxes, [f["score"] for f in new], [f["label"] for f in new], CHECK_DETECTOR,
                           polygons=corners)
    return Regions.merge([regions, added]).numbered(), np.concatenate([selected, np.ones(len(new), bool)])


def actionable(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The findings `covered` can do something about (a stronger style is the user's choice)."""
    return [f for f in findings if f["reason"] in (UNCOVERED, TURNED_OFF)]


def anonymise_checked(data: bytes, settings: Settings, registry: Registry, source: str = "",
                      detection: DetectionResult | None = None, detect_with: DetectFn | None = None,
                      recheck: bool = False, seed: int | None = None) -> tuple[Outcome, PrivacyCheck]:
    """`anonymise_bytes` (with the reviewed `detection` or `detect_with`, if given) followed by the privacy
    check, whose result joins the report under "privacy_check" (`seed`: as `anonymise_bytes`). With `recheck`,
    what the check found is covered and the image rendered once more; the report lists those regions under
    "added_by_privacy_check"."""
    outcome = anonymise_bytes(data, settings, registry, source=source, detection=detection, detect_with=detect_with,
                              seed=seed)
    check = check_report(outcome, settings, registry)
    todo = actionable(check.to_json()["findings"]) if recheck else []
    if todo:
        found = outcome.detection
        selected = np.asarray([row["selected"] for row in outcome.report["regions"]], bool)
        regions, chosen = covered(found.regions, selected, todo)
        again = DetectionResult(regions, chosen, dict(found.timings_ms), dict(found.unavailable), dict(found.models))
        first = outcome.report["privacy_check"]
        outcome = anonymise_bytes(data, settings, registry, source=source, detection=again, seed=seed)
        outcome.report["privacy_check"] = first
        outcome.report["added_by_privacy_check"] = [
            {"label": f["label"], "box": f["box"], "score": f["score"], "detail": f["detail"],
             "why": f"{f['reason']}; still recognisable (detail kept {f['detail']:.2f} >= {LEAK_DETAIL})"}
            for f in todo]
    return outcome, check


def check_report(outcome: Outcome, settings: Settings, registry: Registry) -> PrivacyCheck:
    selected = np.asarray([row["selected"] for row in outcome.report["regions"]], bool)
    check = check_output(outcome.image.pixels, outcome.output, outcome.detection.regions, selected, registry,
                         settings.thresholds)
    outcome.report["privacy_check"] = check.to_json()
    return check
