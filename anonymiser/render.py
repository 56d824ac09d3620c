"""The renderer: selected regions in, anonymised pixels out. It never runs a model, so the UI can
re-render on every toggle; pixels outside the selected regions' shapes are never written."""
from __future__ import annotations

import secrets
from collections.abc import Sequence

import cv2
import numpy as np

from anonymiser.style import BLOCKS_ACROSS, BLUR_SIGMA, MIN_BLOCK, MOSAIC_NOISE, Style
from detectors.regions import Regions

SOFT_PIXELS = 8  # pixels a mosaic block has while its edges are softened


def selection_mask(regions: Regions, selection: np.ndarray | Sequence[bool] | Sequence[str] | None) -> np.ndarray:
    """Selection as a bool array: given as bools, as region ids, or None for all."""
    if selection is None:
        return np.ones(len(regions), dtype=bool)
    selection = list(selection)
    if not selection:  # no ids (or no bools) given: nothing is selected
        return np.zeros(len(regions), dtype=bool)
    if isinstance(selection[0], str):
        return np.isin(regions.ids.astype(str), selection)
    mask = np.asarray(selection, dtype=bool).reshape(-1)
    if len(mask) != len(regions):
        raise ValueError(f"selection has {len(mask)} entries for {len(regions)} regions")
    return mask


def render(image: np.ndarray, regions: Regions, selection=None, style: Style = Style(),
           seed: int | None = None) -> np.ndarray:
    """A copy of `image` (H, W, 3|4 uint8) with each selected region anonymised; alpha is kept.

    Raises ValueError, naming the region, for a box that is not finite or a mask not of the image's size;
    boxes reaching outside the image are clipped; empty or inverted boxes, and boxes wholly outside, change nothing.
    """
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3 or 4) uint8, got {image.shape} {image.dtype}")
    out = image.copy()
    height, width = image.shape[:2]
    rng = np.random.default_rng(secrets.randbits(64) if seed is None else seed)
    for i in np.flatnonzero(selection_mask(regions, selection)):
        label = str(regions.labels[i])
        polygon, mask = regions.polygons[i], regions.masks[i]
        name = str(regions.ids[i]) or f"{i} ({label})"
        if not np.isfinite(regions.boxes[i]).all():
            raise ValueError(f"region {name}: box {regions.boxes[i].tolist()} is not finite")
        bx0, by0, bx1, by1 = regions.boxes[i]
        if bx1 <= bx0 or by1 <= by0:
            continue  # no area, or inverted: it covers nothing (as Regions.clipped drops it)
        if mask is not None and mask.shape != (height, width):
            raise ValueError(f"region {name}: mask is {'x'.join(map(str, mask.shape[::-1]))}, "
                             f"image is {width}x{height}")
        if polygon is not None and len(polygon) < 3:
            polygon = None  # a point or a line covers nothing: anonymise the box instead
        shape = style.shape_for(label, polygon is not None, mask is not None)
        padding = style.padding if shape in ("box", "ellipse", "mask") else 0.0
        x0, y0, x1, y1 = padded_box(regions.boxes[i], padding, width, height)
        if x1 <= x0 or y1 <= y0:
            continue
        inside = shape_mask(shape, (x0, y0, x1, y1), polygon, mask, grown(regions.boxes[i], padding))
        if shape == "mask":
            inside = dilated(inside, padding * min(bx1 - bx0, by1 - by0))
        if not inside.any():
            continue
        crop = out[y0:y1, x0:x1, :3]
        replaced = anonymised(crop, style.method_for(label), style, rng)
        crop[inside] = replaced[inside]
    return out


def grown(box: np.ndarray, padding: float) -> tuple[float, float, float, float]:
    """The box grown by `padding` of its size per side and rounded outwards to whole pixels (not clipped)."""
    bx0, by0, bx1, by1 = (float(v) for v in box)
    px, py = (bx1 - bx0) * padding, (by1 - by0) * padding
    return (float(np.floor(bx0 - px)), float(np.floor(by0 - py)), float(np.ceil(bx1 + px)),
            float(np.ceil(by1 + py)))


def padded_box(box: np.ndarray, padding: float, width: int, height: int) -> tuple[int, int, int, int]:
    """The grown box clipped to the image, as integer pixel bounds: the only pixels a region may change."""
    gx0, gy0, gx1, gy1 = grown(box, padding)
    return (int(min(max(gx0, 0), width)), int(min(max(gy0, 0), height)),
            int(min(max(gx1, 0), width)), int(min(max(gy1, 0), height)))


def dilated(inside: np.ndarray, radius: float) -> np.ndarray:
    """A mask grown by `radius` pixels all round: a silhouette's padding (a margin of the padding x the shorter
    side of its box), as a box is grown by its padding; within the padded box, like every shape."""
    if radius < 0.5 or inside.all() or not inside.any():
        return inside
    return cv2.distanceTransform((~inside).view(np.uint8), cv2.DIST_L2, 3) <= radius


def shape_mask(shape: str, box: tuple[int, int, int, int], polygon: np.ndarray | None,
               mask: np.ndarray | None, outline: tuple[float, float, float, float] | None = None) -> np.ndarray:
    """Bool mask over the box's crop: which of its pixels belong to the region.

    `outline` is the unclipped box an ellipse is inscribed in, so a face cut by the image's edge keeps
    its own ellipse (not a smaller one inscribed in the visible part, which would miss the edge pixels).
    """
    x0, y0, x1, y1 = box
    h, w = y1 - y0, x1 - x0
    if shape == "mask" and mask is not None:
        return mask[y0:y1, x0:x1].astype(bool)
    if shape == "box":
        return np.ones((h, w), dtype=bool)
    if shape == "polygon" and polygon is not None:
        canvas = np.zeros((h, w), dtype=np.uint8)
        pts = np.round((np.asarray(polygon, dtype=np.float64) - [x0, y0]) * 16).astype(np.int32)
        cv2.fillPoly(canvas, [pts], 1, lineType=cv2.LINE_8, shift=4)
        return canvas.astype(bool)
    # Ellipse inscribed in the outline; sub-pixel centre so odd and even sizes stay symmetric.
    ox0, oy0, ox1, oy1 = outline or (float(x0), float(y0), float(x1), float(y1))
    cy, cx = (oy0 + oy1 - 1) / 2, (ox0 + ox1 - 1) / 2
    ry, rx = max((oy1 - oy0) / 2, 0.5), max((ox1 - ox0) / 2, 0.5)
    yy = np.arange(y0, y1, dtype=np.float64)[:, None]
    xx = np.arange(x0, x1, dtype=np.float64)[None, :]
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0


def anonymised(crop: np.ndarray, method: str, style: Style, rng: np.random.Generator) -> np.ndarray:
    """The crop fully anonymised by `method` (the shape mask decides which pixels are used)."""
    h, w = crop.shape[:2]
    if method == "fill":
        return np.broadcast_to(np.asarray(style.colour, dtype=np.uint8), crop.shape)
    if method == "blur":
        sigma = max(1.0, BLUR_SIGMA[style.strength] * max(w, h))
        return cv2.GaussianBlur(crop, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REPLICATE)
    # Square blocks: at most BLOCKS_ACROSS across the longer side, and never smaller than MIN_BLOCK,
    # so a 12-px face becomes one flat block instead of a 12-pixel picture of itself.
    bw = max(MIN_BLOCK[style.strength], round(max(w, h) / BLOCKS_ACROSS[style.strength]))
    small = cv2.resize(crop, (max(1, -(-w // bw)), max(1, -(-h // bw))), interpolation=cv2.INTER_AREA)
    if method == "mosaic":
        noise = rng.normal(0, MOSAIC_NOISE, small.shape[:2])[..., None]
        small = np.clip(small + noise, 0, 255).astype(np.uint8)
    elif method != "pixelate":
        raise ValueError(f"unknown method {method!r}")
    if method == "mosaic":
        # Soften block edges: they follow the face's own shading and would carry its outline
        # (measured on the dev set: 2 of 25 faces of 24-64 px keep >30% detail without this, 0 with it).
        # The blur (sigma half a block) runs at SOFT_PIXELS a block and is scaled up smoothly: the same picture
        # within a few grey levels, in time independent of the block size (a 250-px face: ~7 ms, not ~240 ms).
        mid = cv2.resize(small, (small.shape[1] * SOFT_PIXELS, small.shape[0] * SOFT_PIXELS),
                         interpolation=cv2.INTER_NEAREST)
        sigma = bw / 2 * mid.shape[1] / w
        mid = cv2.GaussianBlur(mid, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REPLICATE)
        return cv2.resize(mid, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
