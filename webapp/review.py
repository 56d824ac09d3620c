"""What a user reviews: the regions found or drawn, which are on, and which were only suggestions.

A `Review` lives in the app's session state as plain JSON (no arrays, no pixels), so a session costs
kilobytes; masks travel as run-length codes. Every change returns a new `Review`: toggling never re-runs a
model, it only flips entries of `selected`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from anonymiser.privacy_check import CHECK_DETECTOR, covered
from detectors.engine import DetectionResult
from detectors.geometry import iou
from detectors.regions import Regions

MANUAL = "manual"  # detector name of the regions a user draws or paints
KEPT = (MANUAL, CHECK_DETECTOR)  # regions a user added (by hand or from the privacy check): kept on re-detection
SAME_REGION = 0.5  # IoU at which a region found again is the same region (and keeps the user's choice)


@dataclass(frozen=True)
class Review:
    regions: Regions
    selected: np.ndarray  # bool (N,): anonymised in the output
    suggested: np.ndarray  # bool (N,): scored below the threshold, shown in their own colour, off by default
    models: dict[str, str] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> Review:
        return cls(Regions.empty(), np.zeros(0, bool), np.zeros(0, bool))

    @classmethod
    def from_detection(cls, result: DetectionResult, floors: np.ndarray | None = None) -> Review:
        """The detected regions grouped by label, best score first (ids numbered so: face-1 is the likeliest
        face); none selected below its `floors` value (the threshold its slider shows), whatever a detector's
        own rule says."""
        selected = np.asarray(result.selected, dtype=bool)
        if floors is not None:
            selected = selected & (result.regions.scores >= floors)
        order = np.lexsort((-result.regions.scores, result.regions.labels.astype(str)))
        return cls(result.regions[order].numbered(), selected[order], ~selected[order], dict(result.models),
                   dict(result.unavailable), dict(result.timings_ms))

    def __len__(self) -> int:
        return len(self.regions)

    def detection(self) -> DetectionResult:
        """The reviewed regions in the engine's form, for `anonymise_bytes(detection=...)` and its report."""
        return DetectionResult(self.regions, self.selected.copy(), dict(self.timings_ms), dict(self.unavailable),
                               dict(self.models))

    def toggled(self, index: int) -> Review:
        selected = self.selected.copy()
        selected[index] = not selected[index]
        return replace(self, selected=selected)

    def with_selected_ids(self, ids: list[str]) -> Review:
        return replace(self, selected=np.isin(self.regions.ids.astype(str), list(ids)))

    def with_label(self, label: str | None, on: bool) -> Review:
        """All regions of one label (or all regions, for None) turned on or off."""
        selected = self.selected.copy()
        chosen = np.ones(len(self), bool) if label is None else self.regions.labels.astype(str) == label
        selected[chosen] = on
        return replace(self, selected=selected)

    def added(self, regions: Regions, on: bool = True) -> Review:
        """`regions` appended (on, not suggestions); ids continue each label's numbering."""
        if not len(regions):
            return self
        merged = Regions.merge([self.regions, regions]).numbered()
        return replace(self, regions=merged, selected=np.concatenate([self.selected, np.full(len(regions), on)]),
                       suggested=np.concatenate([self.suggested, np.zeros(len(regions), bool)]))

    def covered(self, findings: list[dict[str, Any]]) -> Review:
        """What the privacy check found, covered (`anonymiser.privacy_check.covered`)."""
        regions, selected = covered(self.regions, self.selected, findings)
        extra = np.zeros(len(regions) - len(self), bool)
        return replace(self, regions=regions, selected=selected, suggested=np.concatenate([self.suggested, extra]))

    def manual(self) -> Review:
        """Only the regions the user drew, painted or took from the privacy check (kept when detection runs
        again)."""
        keep = np.isin(self.regions.detectors.astype(str), KEPT)
        return Review(self.regions[keep], self.selected[keep], self.suggested[keep])

    def chosen(self) -> np.ndarray:
        """Detected regions the user turned on or off against their default (default: on unless a suggestion)."""
        detected = ~np.isin(self.regions.detectors.astype(str), KEPT)
        return detected & (self.selected == self.suggested)

    def carried_over(self, earlier: Review) -> tuple[Review, int]:
        """This (new) detection with the on/off choices made in `earlier`: a region found again (same label,
        IoU >= SAME_REGION with the chosen one) keeps it. Also returns how many choices found no region."""
        selected, lost = self.selected.copy(), 0
        labels = self.regions.labels.astype(str)
        for j in np.flatnonzero(earlier.chosen()):
            same = labels == str(earlier.regions.labels[j])
            overlap = iou(earlier.regions.boxes[j:j + 1], self.regions.boxes)[0] if len(self) else np.zeros(0)
            overlap = np.where(same, overlap, 0.0)
            if not len(overlap) or overlap.max() < SAME_REGION:
                lost += 1
                continue
            selected[int(np.argmax(overlap))] = earlier.selected[j]
        return replace(self, selected=selected), lost

    def merged_with(self, other: Review) -> Review:
        """`other`'s regions after this review's, each keeping its own on/off."""
        if not len(other):
            return self
        out = self.added(other.regions)
        out.selected[len(self):] = other.selected
        return out

    def visible(self, suggestions: bool) -> np.ndarray:
        """The regions shown: all, or (suggestions collapsed) those not left off as suggestions."""
        return np.ones(len(self), bool) if suggestions else ~(self.suggested & ~self.selected)

    def hit(self, x: float, y: float, tolerance: float = 0.0, among: np.ndarray | None = None) -> int | None:
        """The region at image point (x, y) (of those `among` shows): the smallest box containing it, else the
        nearest box within `tolerance` pixels (tiny faces are hard to click); None when there is none."""
        shown = np.ones(len(self), bool) if among is None else np.asarray(among, bool)
        if not shown.any():
            return None
        boxes = self.regions.boxes
        dx = np.maximum(np.maximum(boxes[:, 0] - x, x - boxes[:, 2]), 0)
        dy = np.maximum(np.maximum(boxes[:, 1] - y, y - boxes[:, 3]), 0)
        distance = np.where(shown, np.hypot(dx, dy), np.inf)
        area = self.regions.widths * self.regions.heights
        inside = np.flatnonzero(distance == 0)
        if len(inside):
            return int(inside[np.argmin(area[inside])])
        nearest = int(np.argmin(distance))
        return nearest if distance[nearest] <= tolerance else None

    def labels(self) -> list[str]:
        return sorted(set(self.regions.labels.astype(str)))

    def to_json(self) -> dict[str, Any]:
        rows = self.regions.to_json()
        for i, row in enumerate(rows):  # exact coordinates: rounding could move a region's edge by a pixel
            row["box"] = self.regions.boxes[i].tolist()
            if self.regions.polygons[i] is not None:
                row["polygon"] = np.asarray(self.regions.polygons[i], np.float32).tolist()
            if self.regions.masks[i] is not None:
                row["mask_rle"] = encode_mask(self.regions.masks[i])
        return {"regions": rows, "selected": self.selected.tolist(), "suggested": self.suggested.tolist(),
                "models": self.models, "unavailable": self.unavailable, "timings_ms": self.timings_ms}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Review:
        if not data:
            return cls.empty()
        rows = data["regions"]
        regions = Regions.from_json(rows)
        regions.masks = [decode_mask(r["mask_rle"]) if r.get("mask_rle") else None for r in rows]
        return cls(regions, np.asarray(data["selected"], bool).reshape(-1),
                   np.asarray(data["suggested"], bool).reshape(-1), dict(data.get("models", {})),
                   dict(data.get("unavailable", {})), dict(data.get("timings_ms", {})))


def encode_mask(mask: np.ndarray) -> dict[str, Any]:
    """Run lengths of a bool mask in row-major order, starting with a run of False (COCO-style, uncompressed)."""
    flat = np.asarray(mask, bool).ravel()
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    edges = np.concatenate([[0], changes, [flat.size]])
    runs = np.diff(edges).tolist()
    if flat.size and flat[0]:
        runs = [0, *runs]
    return {"shape": list(mask.shape), "runs": runs}


def decode_mask(code: dict[str, Any]) -> np.ndarray:
    runs = np.asarray(code["runs"], dtype=np.int64)
    values = np.arange(len(runs)) % 2 == 1
    return np.repeat(values, runs).reshape(code["shape"])
