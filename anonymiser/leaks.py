"""Whether a region of an output still shows what the input showed there: the dev set's leak measure.

This is the measure of the evaluation's `score.py`, computed from pixels only: the region's core (its box
shrunk by 15% a side), in grey, resized to 64 px wide, and the share of the input's gradient energy that the
output still carries in the same places. Detail kept >= 0.3 is a leak (untouched 1.0, JPEG q60 0.996,
a mosaic of 16 blocks across 0.19, a solid fill 0.0). The privacy check judges its findings with it, so
a well-anonymised region is never reported and a region the check added is not reported again.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

LEAK_DETAIL = 0.3  # score.py's threshold
NORM_WIDTH = 64
CORE_SHRINK = 0.15


def grey(rgb: np.ndarray) -> np.ndarray:
    """Pillow's luma (ITU-R 601-2, as `convert("L")`), float64: what score.py reads from a file."""
    pixels = np.ascontiguousarray(rgb[..., :3] if rgb.ndim == 3 else rgb, dtype=np.uint8)
    return np.asarray(Image.fromarray(pixels).convert("L"), dtype=np.float64)


def core(box: Sequence[float], width: int, height: int, shrink: float = CORE_SHRINK) -> tuple[int, int, int, int]:
    """The box shrunk by `shrink` of its size per side, rounded and clipped to the image."""
    x0, y0, x1, y1 = (float(v) for v in box)
    dx, dy = (x1 - x0) * shrink, (y1 - y0) * shrink
    return (max(0, int(round(x0 + dx))), max(0, int(round(y0 + dy))), min(width, int(round(x1 - dx))),
            min(height, int(round(y1 - dy))))


def normalised(a: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The crop at a fixed width, so detail is judged relative to the object's size."""
    x0, y0, x1, y1 = box
    crop = Image.fromarray(np.clip(a[y0:y1, x0:x1], 0, 255).astype(np.uint8))
    w, h = crop.size
    resized = crop.resize((NORM_WIDTH, max(3, round(h * NORM_WIDTH / w))), Image.BILINEAR)
    return np.asarray(resized, dtype=np.float64)


def gradients(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    gx, gy = np.zeros_like(a), np.zeros_like(a)
    gx[:, 1:-1] = a[:, 2:] - a[:, :-2]
    gy[1:-1, :] = a[2:, :] - a[:-2, :]
    return gx, gy


def detail_kept(before: np.ndarray, after: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Share of `before`'s gradient energy in `box` (whole pixels) that `after` still carries (grey images)."""
    x0, y0, x1, y1 = box
    if x1 - x0 < 1 or y1 - y0 < 1:
        return 0.0
    ax, ay = gradients(normalised(before, box))
    bx, by = gradients(normalised(after, box))
    energy = float((ax * ax + ay * ay).sum())
    if energy == 0:
        return 0.0
    return float((ax * bx + ay * by).sum()) / energy


def details_kept(before: np.ndarray, after: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Detail kept in each box's core, for `before` and `after` of the same size (RGB or grey). Only the cores
    are made grey (luma is per pixel, so the figures are the same): a whole 12 MP photo in float64 grey is
    96 MB and a third of a second, twice per privacy check."""
    height, width = before.shape[:2]
    kept = []
    for box in boxes:
        x0, y0, x1, y1 = core(box, width, height)
        if x1 - x0 < 1 or y1 - y0 < 1:
            kept.append(0.0)
            continue
        window = (slice(y0, y1), slice(x0, x1))
        kept.append(detail_kept(grey(before[window]), grey(after[window]), (0, 0, x1 - x0, y1 - y0)))
    return np.asarray(kept, dtype=np.float64)
