"""Overlap maths on (N, 4) boxes ``x0, y0, x1, y1``: the one copy every module uses.

`iou` for "the same object found twice", `inside` for "this box lies within that one" (a finding inside an
anonymised region, a plate inside its vehicle, a word inside its line), and greedy `nms` over `Regions`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from detectors.regions import Regions


def _boxes(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float64).reshape(-1, 4)


def areas(boxes: np.ndarray) -> np.ndarray:
    b = _boxes(boxes)
    return (b[:, 2] - b[:, 0]).clip(0) * (b[:, 3] - b[:, 1]).clip(0)


def intersections(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) areas of the pairwise intersections."""
    a, b = _boxes(a), _boxes(b)
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    return w.clip(0) * h.clip(0)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) intersection over union."""
    inter = intersections(a, b)
    return inter / np.maximum(areas(a)[:, None] + areas(b)[None, :] - inter, 1e-9)


def inside(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) share of each box of `a`'s area that lies inside each box of `b` (1 = wholly inside)."""
    return intersections(a, b) / np.maximum(areas(a)[:, None], 1e-9)


def nms(regions: Regions, threshold: float) -> Regions:
    """Greedy non-maximum suppression per label, highest score first; the order of the kept is preserved.

    Each kept box is compared with the boxes still alive only (no N x N matrix: a 12 MP photo gives the face
    model thousands of raw candidates, and their full overlap matrix cost seconds and gigabytes).
    """
    if len(regions) < 2:
        return regions
    keep: list[int] = []
    for label in np.unique(regions.labels.astype(str)):
        idx = np.flatnonzero(regions.labels == label)
        idx = idx[np.argsort(-regions.scores[idx], kind="stable")]
        boxes = _boxes(regions.boxes[idx])
        area = areas(boxes)
        alive = np.arange(len(idx))
        while len(alive):
            first, rest = alive[0], alive[1:]
            keep.append(int(idx[first]))
            inter = intersections(boxes[first], boxes[rest])[0]
            alive = rest[inter / np.maximum(area[first] + area[rest] - inter, 1e-9) <= threshold]
    return regions[np.sort(np.asarray(keep, dtype=int))]
