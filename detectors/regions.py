"""The one region type of the project: a struct of arrays, like `supervision.Detections`.

Every detector returns `Regions`; the selection, the renderer, the report and the UI all read the same
object. Boxes are float pixels ``x0, y0, x1, y1`` in the EXIF-oriented image.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _strings(values: Sequence[str] | np.ndarray, n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[:] = list(values) if n else []
    return out


@dataclass
class Regions:
    """N regions: boxes (N,4) float32, scores (N,), labels (N,), detectors (N,), ids (N,).

    `polygons` and `masks` are per-region optional shapes (None where the detector gives only a box):
    a polygon is an (K,2) float array in image pixels, a mask a bool array of the image's size.
    """

    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    detectors: np.ndarray
    ids: np.ndarray
    polygons: list[np.ndarray | None] = field(default_factory=list)
    masks: list[np.ndarray | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.boxes)
        lengths = {len(self.scores), len(self.labels), len(self.detectors), len(self.ids)}
        lengths |= {len(x) for x in (self.polygons, self.masks) if len(x)}
        if lengths - {n}:
            raise ValueError(f"Regions fields disagree in length: {n} boxes vs {sorted(lengths)}")
        self.boxes = np.asarray(self.boxes, dtype=np.float32).reshape(n, 4)
        self.scores = np.asarray(self.scores, dtype=np.float32).reshape(n)
        self.labels = _strings(self.labels, n)
        self.detectors = _strings(self.detectors, n)
        self.ids = _strings(self.ids, n)
        self.polygons = list(self.polygons) or [None] * n
        self.masks = list(self.masks) or [None] * n

    @classmethod
    def empty(cls) -> Regions:
        return cls.create(np.zeros((0, 4)), [], "", "")

    @classmethod
    def create(cls, boxes: Any, scores: Any, label: str | Sequence[str], detector: str,
               polygons: list[np.ndarray | None] | None = None,
               masks: list[np.ndarray | None] | None = None) -> Regions:
        """Regions from one detector; ids are given later by `numbered`."""
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        n = len(boxes)
        labels = [label] * n if isinstance(label, str) else list(label)
        return cls(boxes, np.asarray(scores, dtype=np.float32).reshape(n), labels, [detector] * n,
                   [""] * n, polygons or [], masks or [])

    def __len__(self) -> int:
        return len(self.boxes)

    def __getitem__(self, index: Any) -> Regions:
        """Filter by boolean mask, integer array or slice, like `supervision.Detections`."""
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        idx = np.arange(len(self))[index]
        return Regions(self.boxes[idx], self.scores[idx], self.labels[idx], self.detectors[idx],
                       self.ids[idx], [self.polygons[i] for i in idx], [self.masks[i] for i in idx])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i in range(len(self)):
            yield self.row(i)

    def row(self, i: int) -> dict[str, Any]:
        """One region as plain JSON-able data (for reports, the UI and the API)."""
        row = {"id": str(self.ids[i]), "label": str(self.labels[i]), "score": round(float(self.scores[i]), 4),
               "box": [round(float(v), 1) for v in self.boxes[i]], "detector": str(self.detectors[i])}
        if self.polygons[i] is not None:
            row["polygon"] = [[round(float(x), 1), round(float(y), 1)] for x, y in self.polygons[i]]
        if self.masks[i] is not None:
            row["mask_area"] = int(self.masks[i].sum())
        return row

    @staticmethod
    def merge(parts: Sequence[Regions]) -> Regions:
        parts = [p for p in parts if len(p)]
        if not parts:
            return Regions.empty()
        return Regions(np.concatenate([p.boxes for p in parts]), np.concatenate([p.scores for p in parts]),
                       np.concatenate([p.labels for p in parts]), np.concatenate([p.detectors for p in parts]),
                       np.concatenate([p.ids for p in parts]), [s for p in parts for s in p.polygons],
                       [m for p in parts for m in p.masks])

    @property
    def widths(self) -> np.ndarray:
        return self.boxes[:, 2] - self.boxes[:, 0]

    @property
    def heights(self) -> np.ndarray:
        return self.boxes[:, 3] - self.boxes[:, 1]

    def clipped(self, width: int, height: int) -> Regions:
        """Boxes clipped to the image; regions left with no area are dropped."""
        out = self[np.arange(len(self))]
        out.boxes[:, [0, 2]] = out.boxes[:, [0, 2]].clip(0, width)
        out.boxes[:, [1, 3]] = out.boxes[:, [1, 3]].clip(0, height)
        return out[(out.widths > 0) & (out.heights > 0)]

    def shifted(self, dx: float, dy: float) -> Regions:
        """A copy moved by (dx, dy): from a crop's pixels to the image's (masks are not moved)."""
        out = self[np.arange(len(self))]
        out.boxes = out.boxes + np.float32([dx, dy, dx, dy])
        out.polygons = [None if q is None else q + np.float32([dx, dy]) for q in out.polygons]
        return out

    def reading_order(self) -> np.ndarray:
        """Indices sorted by label, then top to bottom, then left to right."""
        return np.lexsort((self.boxes[:, 0], self.boxes[:, 1], self.labels.astype(str)))

    def numbered(self) -> Regions:
        """A copy with stable ids ``<label>-<n>`` (1-based per label, in the current order)."""
        out = self[np.arange(len(self))]
        counts: dict[str, int] = {}
        for i, label in enumerate(out.labels):
            counts[label] = counts.get(label, 0) + 1
            out.ids[i] = f"{label}-{counts[label]}"
        return out

    def to_json(self) -> list[dict[str, Any]]:
        return [self.row(i) for i in range(len(self))]

    @classmethod
    def from_json(cls, rows: Sequence[dict[str, Any]]) -> Regions:
        """Inverse of `to_json` (masks are not serialised; polygons are)."""
        polys = [np.asarray(r["polygon"], dtype=np.float32) if r.get("polygon") else None for r in rows]
        return cls(np.asarray([r["box"] for r in rows], dtype=np.float32).reshape(-1, 4),
                   [r.get("score", 1.0) for r in rows], [r["label"] for r in rows],
                   [r.get("detector", "manual") for r in rows], [r.get("id", "") for r in rows], polys, [])
