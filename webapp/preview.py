"""The review picture: a downscaled copy of the photo, anonymised by the real renderer, with every region
outlined and numbered; and the way back from what a user clicks, draws or paints on it to image regions.

Previews are small (PREVIEW_SIDE) because the browser pays for every pixel an annotation component shows,
and because a toggle must re-render in a blink; the full-size image is rendered once, for the download.
"""
from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from anonymiser.render import render
from anonymiser.style import Style
from detectors.regions import Regions
from webapp.review import MANUAL, Review

PREVIEW_SIDE = 1280
SUGGESTION_COLOUR = (255, 140, 0)  # amber: below the threshold, off until the user turns it on
MANUAL_COLOUR = (255, 0, 255)
LABEL_COLOURS = {"face": (0, 200, 255), "plate": (244, 67, 54), "person": (76, 175, 80), "text": (179, 136, 255),
                 "qr": (0, 229, 160), "barcode": (0, 229, 160), "car": (33, 150, 243), "bus": (33, 150, 243),
                 "truck": (33, 150, 243), "motorcycle": (33, 150, 243), "bicycle": (33, 150, 243),
                 "manual": MANUAL_COLOUR}
PALETTE = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240),
           (240, 50, 230), (210, 245, 60), (0, 128, 128), (170, 110, 40)]


def preview_scale(width: int, height: int, max_side: int = PREVIEW_SIDE) -> float:
    """Factor from image pixels to preview pixels (1 for images already small enough)."""
    return min(1.0, max_side / max(width, height))


def downscaled(pixels: np.ndarray, max_side: int = PREVIEW_SIDE) -> tuple[np.ndarray, float]:
    """RGB preview of at most `max_side` pixels a side, and the factor it was scaled by."""
    height, width = pixels.shape[:2]
    scale = preview_scale(width, height, max_side)
    rgb = np.ascontiguousarray(pixels[..., :3])
    if scale == 1.0:
        return rgb, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), scale


def scaled(regions: Regions, scale: float, shape: tuple[int, int]) -> Regions:
    """Regions moved into preview pixels (`shape` is the preview's height, width)."""
    out = regions[np.arange(len(regions))]
    out.boxes = out.boxes * np.float32(scale)
    out.polygons = [None if p is None else np.asarray(p, np.float32) * np.float32(scale) for p in out.polygons]
    out.masks = [None if m is None else cv2.resize(m.astype(np.uint8), shape[::-1], interpolation=cv2.INTER_NEAREST)
                 .astype(bool) for m in out.masks]
    return out


def colour_of(label: str, detector: str, suggested: bool) -> tuple[int, int, int]:
    if suggested:
        return SUGGESTION_COLOUR
    if detector == MANUAL:
        return MANUAL_COLOUR
    return LABEL_COLOURS.get(label, PALETTE[zlib.crc32(label.encode()) % len(PALETTE)])


def draw(preview: np.ndarray, review: Review, scale: float, style: Style,
         suggestions: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(review picture, anonymised preview): the second is what the download will look like, the first
    adds the outline of each region shown (`Review.visible`): solid when on, dashed when off, amber for
    suggestions; and its number where that covers no other number (the list numbers them all)."""
    small = scaled(review.regions, scale, preview.shape[:2])
    anonymised = render(preview, small, review.selected, style, seed=0)  # fixed noise: toggles do not flicker
    picture = anonymised.copy()
    thickness = max(1, round(max(preview.shape[:2]) / 640))
    shown = np.flatnonzero(review.visible(suggestions))
    font = tag_font(picture.shape)
    tags = place_tags(small.boxes[shown], [tag_size(str(i + 1), font) for i in shown], picture.shape[:2])
    for i, tag in zip(shown, tags, strict=True):
        colour = colour_of(str(small.labels[i]), str(small.detectors[i]), bool(review.suggested[i]))
        x0, y0, x1, y1 = (int(round(v)) for v in small.boxes[i])
        on = bool(review.selected[i])
        if on:
            cv2.rectangle(picture, (x0, y0), (x1, y1), colour, thickness + 1, cv2.LINE_AA)
        else:
            dashed_rectangle(picture, (x0, y0), (x1, y1), colour, thickness)
        if tag is not None:
            number_tag(picture, str(i + 1), tag, colour, on, font)
    return picture, anonymised


def dashed_rectangle(image: np.ndarray, p0: tuple[int, int], p1: tuple[int, int], colour: tuple[int, int, int],
                     thickness: int, dash: int = 6) -> None:
    (x0, y0), (x1, y1) = p0, p1
    for a, b in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))):
        length = max(abs(b[0] - a[0]), abs(b[1] - a[1]))
        for start in range(0, length, 2 * dash):
            t0, t1 = start / max(length, 1), min(start + dash, length) / max(length, 1)
            cv2.line(image, (round(a[0] + (b[0] - a[0]) * t0), round(a[1] + (b[1] - a[1]) * t0)),
                     (round(a[0] + (b[0] - a[0]) * t1), round(a[1] + (b[1] - a[1]) * t1)), colour, thickness)


Font = tuple[int, float, int]  # OpenCV font face, scale, weight
Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 in preview pixels


def tag_font(shape: tuple[int, ...]) -> Font:
    size = max(0.45, max(shape[:2]) / 1500)
    return cv2.FONT_HERSHEY_SIMPLEX, size, 2 if size >= 0.7 else 1


def tag_size(text: str, font: Font) -> tuple[int, int]:
    (tw, th), base = cv2.getTextSize(text, *font)
    return tw + 4, th + base + 4


def place_tags(boxes: np.ndarray, sizes: list[tuple[int, int]], shape: tuple[int, int]) -> list[Rect | None]:
    """Where each box's number goes: above its top-left corner, else inside it, below it, or above its right
    end, the first spot (inside the picture) that overlaps no number placed before; None when all do."""
    height, width = shape
    placed: list[Rect] = []
    out: list[Rect | None] = []
    for (x0, y0, x1, y1), (w, h) in zip(np.round(boxes).astype(int).tolist(), sizes, strict=True):
        spot = None
        for x, y in ((x0, y0 - h), (x0, y0), (x0, y1), (x1 - w, y0 - h)):
            x, y = int(np.clip(x, 0, max(0, width - w))), int(np.clip(y, 0, max(0, height - h)))
            rect = (x, y, x + w, y + h)
            if not any(rect[0] < r[2] and r[0] < rect[2] and rect[1] < r[3] and r[1] < rect[3] for r in placed):
                spot = rect
                break
        if spot is not None:
            placed.append(spot)
        out.append(spot)
    return out


def number_tag(image: np.ndarray, text: str, rect: Rect, colour: tuple[int, int, int], filled: bool,
               font: Font) -> None:
    """The region's number in a small box at `rect` (from `place_tags`)."""
    face, size, weight = font
    x, y, x1, y1 = rect
    (_, th), _ = cv2.getTextSize(text, face, size, weight)
    cv2.rectangle(image, (x, y), (x1 - 1, y1 - 1), colour, -1 if filled else 1)
    ink = (0, 0, 0) if filled and sum(colour) > 380 else (255, 255, 255) if filled else colour
    cv2.putText(image, text, (x + 2, y + th + 2), face, size, ink, weight, cv2.LINE_AA)


def regions_from_boxes(boxes: Sequence[dict[str, Any]], scale: float) -> Regions:
    """Boxes drawn on the preview (dicts with xmin, ymin, xmax, ymax, as gradio_image_annotation gives them)
    as manual regions in image pixels."""
    coords = [[b["xmin"], b["ymin"], b["xmax"], b["ymax"]] for b in boxes]
    array = np.asarray(coords, dtype=np.float32).reshape(-1, 4) / np.float32(scale)
    array = np.concatenate([np.minimum(array[:, :2], array[:, 2:]), np.maximum(array[:, :2], array[:, 2:])], axis=1)
    keep = (array[:, 2] > array[:, 0]) & (array[:, 3] > array[:, 1])
    return Regions.create(array[keep], np.ones(int(keep.sum())), MANUAL, MANUAL)


def regions_from_paint(layer: np.ndarray, scale: float) -> Regions:
    """Painted areas of a preview-sized layer (RGBA with alpha > 0 where painted, or a bool mask) as manual
    polygon regions in image pixels, one per connected area; holes inside an area are covered too."""
    painted = layer[..., 3] > 0 if layer.ndim == 3 else layer.astype(bool)
    # A contour runs through its outer pixels' centres: one pixel of growth makes it cover them whole.
    grown = cv2.dilate(painted.astype(np.uint8), np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(grown, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polygons = [c.reshape(-1, 2).astype(np.float32) / np.float32(scale) for c in contours]
    boxes = [np.concatenate([p.min(axis=0), p.max(axis=0)]) for p in polygons]
    return Regions.create(np.asarray(boxes, np.float32).reshape(-1, 4), np.ones(len(boxes)), MANUAL, MANUAL,
                          polygons=polygons or None)
