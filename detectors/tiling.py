"""Scaling and tiling, so small objects in large photos reach a detector with enough pixels."""
from __future__ import annotations

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
