"""Licence plates without a plate model: plate-shaped text on vehicles.

No plate detector ships under a usable licence, so plates are built from two detectors of the registry:
vehicles from the COCO detector, and text from the text detector (which must take the keywords `scale`, one
pass at that scale, and `detail`, False for no detail pass) run on each vehicle's crop enlarged to
`crop_side` px: at the scale of a street photo most plates are 15-40 px wide and the text model needs them
far larger (on the dev set, crops of 640 / 800 / 960 px found 42 / 44 / 48 of 49 plates). Text is kept as a
plate when it is plate-shaped (aspect ratio), its centre lies below the vehicle's top part and it is small
relative to the vehicle. Two-line plates (common on motorbikes) come out of the text model as two lines and
are joined first. Plate-shaped text found on the whole image is added, with a lower score, for vehicles the
COCO detector misses. At most `max_vehicles` vehicles are searched, largest first, so the time per image
stays bounded (each crop costs about one text pass on a 960 px image).
"""
from __future__ import annotations

import numpy as np

from detectors.base import BaseDetector
from detectors.geometry import inside, iou, nms
from detectors.regions import Regions
from detectors.registry import Detector, DetectorUnavailable, Registry, default_registry, register_detector

VEHICLES = ("car", "bus", "truck", "motorcycle")


@register_detector("plates")
class Plates(BaseDetector):
    labels = ("plate",)

    def __init__(self, threshold: float, suggest: float, registry: Registry | None = None,
                 vehicle_detector: str = "ssd_coco", text_detector: str = "ppocr_text",
                 vehicle_labels: tuple[str, ...] = VEHICLES, vehicle_threshold: float = 0.25,
                 max_vehicles: int = 8, min_vehicle_side: float = 24, crop_side: int = 960,
                 max_upscale: float = 8.0, margin: float = 0.05, aspect: tuple[float, float] = (0.8, 6.0),
                 width_share: tuple[float, float] = (0.04, 0.6), top_share: float = 0.3,
                 scene_max_height: float = 0.1, scene_weight: float = 0.7) -> None:
        registry = registry or default_registry()
        self.vehicles = component(registry, vehicle_detector, "vehicle")
        self.text = component(registry, text_detector, "text")
        self.suggest = suggest
        self.vehicle_labels = tuple(vehicle_labels)
        self.vehicle_threshold = vehicle_threshold
        self.max_vehicles = max_vehicles
        self.min_vehicle_side = min_vehicle_side
        self.crop_side = crop_side
        self.max_upscale = max_upscale
        self.margin = margin
        self.aspect = aspect
        self.width_share = width_share
        self.top_share = top_share
        self.scene_max_height = scene_max_height
        self.scene_weight = scene_weight

    def versions(self) -> dict[str, str]:
        return {**self.vehicles.versions(), **self.text.versions(),
                "plate model": "plate-shaped text on vehicles (no dedicated model)"}

    def detect(self, image: np.ndarray, threshold: float) -> Regions:
        floor = self.floor(threshold)
        h, w = image.shape[:2]
        parts = [self._on_vehicle(image, box, floor) for box in self.examined_vehicles(image)]
        scene = joined_lines(self._text(image, floor))
        scene.scores *= self.scene_weight  # no vehicle around it: weaker evidence
        small = scene.heights <= self.scene_max_height * h
        parts.append(scene[small & plate_shaped(scene.boxes, self.aspect)])
        found = Regions.merge(parts).clipped(w, h)
        return distinct(found[found.scores >= floor])

    def examined_vehicles(self, image: np.ndarray) -> np.ndarray:
        """Boxes of the vehicles whose crops are searched: one per vehicle, largest first, at most `max_vehicles`."""
        found = self.vehicles.detect(image, self.vehicle_threshold)
        found = found[np.isin(found.labels.astype(str), self.vehicle_labels)
                      & self.vehicles.accepts(found, self.vehicle_threshold)
                      & (np.minimum(found.widths, found.heights) >= self.min_vehicle_side)]
        merged = nms(Regions.create(found.boxes, found.scores, "vehicle", ""), 0.6)
        order = np.argsort(-(merged.widths * merged.heights), kind="stable")
        return merged.boxes[order[:self.max_vehicles]]

    def _on_vehicle(self, image: np.ndarray, vehicle: np.ndarray, floor: float) -> Regions:
        """Plate-shaped text in the lower part of one vehicle, searched on an enlarged crop."""
        h, w = image.shape[:2]
        vw, vh = vehicle[2] - vehicle[0], vehicle[3] - vehicle[1]
        x0, y0 = np.floor(np.maximum(vehicle[:2] - self.margin * np.array([vw, vh]), 0)).astype(int)
        x1, y1 = np.ceil(np.minimum(vehicle[2:] + self.margin * np.array([vw, vh]), [w, h])).astype(int)
        scale = min(self.max_upscale, self.crop_side / max(x1 - x0, y1 - y0))
        found = joined_lines(self._text(image[y0:y1, x0:x1], floor, scale))
        boxes = found.boxes + [x0, y0, x0, y0]
        widths = boxes[:, 2] - boxes[:, 0]
        centre_y = (boxes[:, 1] + boxes[:, 3]) / 2
        keep = (plate_shaped(boxes, self.aspect)
                & (widths >= self.width_share[0] * vw) & (widths <= self.width_share[1] * vw)
                & (centre_y >= vehicle[1] + self.top_share * vh))
        return Regions.create(boxes[keep], found.scores[keep], "plate", "plates")

    def _text(self, image: np.ndarray, floor: float, scale: float | None = None) -> Regions:
        found = self.text.detect(image, floor, scale=scale, detail=False)
        return found[found.scores >= floor]


def distinct(found: Regions, same: float = 0.3, nested: float = 0.7) -> Regions:
    """Best-first suppression of overlaps, including a plate's line lying inside the whole plate's box."""
    order = np.argsort(-found.scores, kind="stable")
    boxes = found.boxes[order]
    clash = (iou(boxes, boxes) >= same) | (inside(boxes, boxes) >= nested)
    keep: list[int] = []
    for i in range(len(order)):
        if not clash[i, keep].any():
            keep.append(i)
    return found[np.sort(order[keep])]


def component(registry: Registry, name: str, role: str) -> Detector:
    try:
        return registry.get(name)
    except DetectorUnavailable as exc:
        raise DetectorUnavailable(f"plates need the {role} detector {name!r}, which is unavailable: {exc}") from exc


def plate_shaped(boxes: np.ndarray, aspect: tuple[float, float]) -> np.ndarray:
    ratio = (boxes[:, 2] - boxes[:, 0]) / np.maximum(boxes[:, 3] - boxes[:, 1], 1e-6)
    return (ratio >= aspect[0]) & (ratio <= aspect[1])


def joined_lines(text: Regions, gap: float = 0.5) -> Regions:
    """Text lines stacked as on a two-line plate (overlapping columns, similar heights, a small gap) as one box.

    The joined box scores the mean of its lines; lines stacked three or more high are joined too.
    """
    n = len(text)
    if n < 2:
        return Regions.create(text.boxes, text.scores, "plate", "plates")
    b = text.boxes
    heights, widths = b[:, 3] - b[:, 1], b[:, 2] - b[:, 0]
    overlap_x = np.minimum(b[:, None, 2], b[None, :, 2]) - np.maximum(b[:, None, 0], b[None, :, 0])
    vertical_gap = np.maximum(b[:, None, 1], b[None, :, 1]) - np.minimum(b[:, None, 3], b[None, :, 3])
    smaller_h = np.minimum(heights[:, None], heights[None, :])
    linked = ((overlap_x >= 0.5 * np.minimum(widths[:, None], widths[None, :]))
              & (vertical_gap <= gap * smaller_h)
              & (np.maximum(heights[:, None], heights[None, :]) <= 2 * smaller_h))
    group = np.arange(n)
    for i, j in zip(*np.nonzero(np.triu(linked, 1)), strict=True):
        group[group == group[j]] = group[i]
    labels = np.unique(group)
    boxes = np.array([[*b[group == g, :2].min(0), *b[group == g, 2:].max(0)] for g in labels], np.float32)
    scores = np.array([text.scores[group == g].mean() for g in labels], np.float32)
    return Regions.create(boxes, scores, "plate", "plates")
