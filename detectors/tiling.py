"""Scaling and tiling, so small objects in large photos reach a detector with enough pixels."""
from __future__ import annotations

import math
from collections.abc import Iterator

import cv2
import numpy as np


def resized(image: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1:
        return image
    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA)


def scaled_tiles(image: np.ndarray, scale: float, max_side: int, tile: int,
                 overlap: float = 0.25, multiple: int = 32
                 ) -> Iterator[tuple[np.ndarray, tuple[float, float], float]]:
    """Yield (crop, (x, y) origin in the original image, scale) covering the image scaled by `scale`.

    The whole scaled image is one tile when its long side fits `max_side`; otherwise it is cut into
    `tile`-sized pieces overlapping by `overlap`. Crops are padded to a multiple of `multiple` pixels.
    """
    scaled = resized(image, scale)
    h, w = scaled.shape[:2]
    if max(h, w) <= max_side:
        yield pad_to(scaled, multiple), (0, 0), scale
        return
    step = max(1, int(tile * (1 - overlap)))
    for y in starts(h, tile, step):
        for x in starts(w, tile, step):
            crop = scaled[y:y + tile, x:x + tile]
            yield pad_to(crop, multiple), (x / scale, y / scale), scale


def starts(length: int, tile: int, step: int) -> list[int]:
    if length <= tile:
        return [0]
    out = list(range(0, length - tile, step))
    return out + [length - tile]


def pad_to(image: np.ndarray, multiple: int) -> np.ndarray:
    h, w = image.shape[:2]
    ph, pw = -h % multiple, -w % multiple
    if not ph and not pw:
        return np.ascontiguousarray(image)
    return cv2.copyMakeBorder(image, 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=0)


def grid_windows(width: int, height: int, max_tiles: int, min_tile: int,
                 overlap: float = 0.25) -> list[tuple[int, int, int, int]]:
    """Overlapping windows (x0, y0, x1, y1) of the cols x rows grid that makes them smallest.

    For detectors with a fixed input size, whose cost is one pass per window: at most `max_tiles`
    windows, none with a side under `min_tile` (smaller ones would only be upsampled). The grid with the
    shortest window long side wins, fewer windows on a tie; [] when the whole image is the best window.
    """
    best = (max(width, height), 1, 1, 1)
    for cols in range(1, max_tiles + 1):
        for rows in range(1, max_tiles // cols + 1):
            tw, th = window_length(width, cols, overlap), window_length(height, rows, overlap)
            if min(tw, th) >= min_tile:
                best = min(best, (max(tw, th), cols * rows, cols, rows))
    _, count, cols, rows = best
    if count == 1:
        return []
    tw, th = window_length(width, cols, overlap), window_length(height, rows, overlap)
    return [(x, y, x + tw, y + th) for y in spread(height, th, rows) for x in spread(width, tw, cols)]


def window_length(length: int, count: int, overlap: float) -> int:
    """Side of `count` windows overlapping by `overlap` of a side that together span `length`."""
    return math.ceil(length / (count - (count - 1) * overlap))


def spread(length: int, window: int, count: int) -> list[int]:
    """`count` window starts spaced evenly from 0 to `length - window`."""
    if count == 1:
        return [0]
    return [round(i * (length - window) / (count - 1)) for i in range(count)]


def clear_of_seams(boxes: np.ndarray, window: tuple[int, int, int, int], width: int, height: int,
                   margin: float = 4) -> np.ndarray:
    """Which boxes found in `window` stay `margin` px away from its edges inside the image.

    A box touching such a seam is usually part of an object cut by the window; another window or the
    whole-image pass sees that object entire.
    """
    x0, y0, x1, y1 = window
    cut = np.zeros(len(boxes), dtype=bool)
    if x0 > 0:
        cut |= boxes[:, 0] < x0 + margin
    if y0 > 0:
        cut |= boxes[:, 1] < y0 + margin
    if x1 < width:
        cut |= boxes[:, 2] > x1 - margin
    if y1 < height:
        cut |= boxes[:, 3] > y1 - margin
    return ~cut
