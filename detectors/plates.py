"""Licence plates: plate-shaped text candidates, read and verified into a calibrated probability.

No plate detector ships under a usable licence, so candidates come from two detectors of the registry:
vehicles from the COCO detector, and text from the text detector (which must take the keywords `scale`, one
pass at that scale, and `detail`, False for no detail pass). Candidates are (1) plate-shaped text on the lower
part of each vehicle's crop, enlarged to `crop_side` px (at the scale of a street photo most plates are 15-40 px
wide and the text model needs them far larger), and (2) plate-shaped text of a whole-image pass, for vehicles
the COCO detector misses. Text lines stacked as on a two-line plate are joined first. Sizes are bounded: a
candidate is at most `vehicle_share` of its vehicle's width and height, or, with no vehicle around it,
`scene_share` of the image's. Each candidate is then read by PP-OCR's recogniser (one batched call per image)
and `plate_verifier` turns the evidence into the probability that it is a plate: that is the region's score,
so the threshold means what it says. At most `max_vehicles` vehicles are searched, largest first.
What a plate reads as is personal data: it serves the verifier only and never leaves this module (it is not
in the regions, the report or any log).
"""
from __future__ import annotations

import numpy as np

from detectors import plate_verifier
from detectors.base import BaseDetector
from detectors.geometry import inside, iou, nms
from detectors.plate_reader import PlateReader
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
                 max_upscale: float = 8.0, crop_width: int = 960,
                 crop_pixels: float = 4e6, margin: float = 0.05,
                 aspect: tuple[float, float] = (0.8, 6.0),
                 top_share: float = 0.3, vehicle_share: tuple[float, float] = (0.6, 0.4),
                 scene_share: tuple[float, float] = (0.3, 0.12), text_floor: float = 0.3,
                 reader: str = "ppocrv6_tiny", calibration: str = "plate_verifier.json",
                 learned: tuple[str, ...] = (), learned_floor: float = 0.1) -> None:
        registry = registry or default_registry()
        self.vehicles = component(registry, vehicle_detector, "vehicle")
        self.text = component(registry, text_detector, "text")
        self.learned = [component(registry, name, "learned plate") for name in learned]
        self.learned_floor = learned_floor
        self.reader = PlateReader(reader)
        self.reader_name = reader
        self.verifier = plate_verifier.load(calibration, learned=bool(learned)) if calibration else None
        self.suggest = suggest
        self.vehicle_labels = tuple(vehicle_labels)
        self.vehicle_threshold = vehicle_threshold
        self.max_vehicles = max_vehicles
        self.min_vehicle_side = min_vehicle_side
        self.crop_side = crop_side
        self.max_upscale = max_upscale
        self.crop_width = crop_width
        self.crop_pixels = crop_pixels
        self.margin = margin
        self.aspect = aspect
        self.top_share = top_share
        self.vehicle_share = vehicle_share
        self.scene_share = scene_share
        self.text_floor = text_floor

    def versions(self) -> dict[str, str]:
        learned = "".join(f" + {d.versions().get('plate model', '')}" for d in self.learned)
        return {**self.vehicles.versions(), **self.text.versions(),
                "plate model": f"plate-shaped text{learned} verified by {self.reader_name} rec + logistic regression"}

    def detect(self, image: np.ndarray, threshold: float) -> Regions:
        if self.verifier is None:
            raise DetectorUnavailable("the plate detector has no verifier file: run python -m benchmarks.fit_plates")
        found, evidence = self.candidates(image)
        found.scores = self.verifier.probability(evidence.features()).astype(np.float32)
        return distinct(found[found.scores >= self.floor(threshold)])

    def candidates(self, image: np.ndarray) -> tuple[Regions, plate_verifier.Evidence]:
        """Every plate candidate (scored by its text probability) and what the verifier needs to judge it."""
        h, w = image.shape[:2]
        vehicles = self.examined_vehicles(image)
        parts = [self._on_vehicle(image, box, *crop) for box, crop in zip(vehicles, self.crops(vehicles, w, h),
                                                                          strict=True)]
        scene = joined_lines(self._text(image))
        fits = ((scene.widths <= self.scene_share[0] * w) & (scene.heights <= self.scene_share[1] * h)
                & plate_shaped(scene.boxes, self.aspect))
        parts.append(scene[fits].clipped(w, h))
        found = unique(Regions.merge(parts).clipped(w, h))
        learned = None
        if self.learned:
            found, learned = self._with_learned(image, found)
        return found, plate_verifier.Evidence(found.boxes, found.scores, host_vehicles(found.boxes, vehicles),
                                              self.reader.read(image, found.boxes),
                                              plate_verifier.contrast(image, found.boxes), h, learned)

    def _with_learned(self, image: np.ndarray, text: Regions) -> tuple[Regions, np.ndarray]:
        """The text candidates plus the learned detectors' boxes no text candidate matches (IoU >= 0.3; those
        score 0.5 as text: no evidence either way), and per candidate the best learned score matching it."""
        h, w = image.shape[:2]
        boxes = Regions.merge([found[d.accepts(found, self.learned_floor)]
                               for d in self.learned for found in [d.detect(image, self.learned_floor)]]).clipped(w, h)
        boxes = boxes[(boxes.widths <= self.scene_share[0] * w) & (boxes.heights <= self.scene_share[1] * h)]
        boxes = unique(boxes[np.argsort(-boxes.scores, kind="stable")])
        new = ~(iou(boxes.boxes, text.boxes) >= 0.3).any(axis=1) if len(text) else np.ones(len(boxes), bool)
        added = Regions.create(boxes.boxes[new], np.full(int(new.sum()), 0.5), "plate", "plates")
        found = Regions.merge([text, added])
        match = iou(found.boxes, boxes.boxes) >= 0.3
        return found, np.where(match, boxes.scores[None, :], 0.0).max(axis=1, initial=0.0)

    def examined_vehicles(self, image: np.ndarray) -> np.ndarray:
        """Boxes of the vehicles whose crops are searched: one per vehicle, largest first, at most `max_vehicles`."""
        found = self.vehicles.detect(image, self.vehicle_threshold)
        found = found[np.isin(found.labels.astype(str), self.vehicle_labels)
                      & self.vehicles.accepts(found, self.vehicle_threshold)
                      & (np.minimum(found.widths, found.heights) >= self.min_vehicle_side)]
        merged = nms(Regions.create(found.boxes, found.scores, "vehicle", ""), 0.6)
        order = np.argsort(-(merged.widths * merged.heights), kind="stable")
        return merged.boxes[order[:self.max_vehicles]].reshape(-1, 4)

    def crops(self, vehicles: np.ndarray, width: int, height: int) -> list[tuple[np.ndarray, float]]:
        """Per vehicle, the window searched (its lower part, with a margin) and its enlargement: to `crop_side`
        on the long side or `crop_width` wide, whichever is less (a plate is a fixed share of its vehicle's width),
        at most `max_upscale`, and all scaled down together so that the enlarged windows hold
        at most `crop_pixels` pixels (the text pass costs in proportion)."""
        windows, scales = [], []
        for vehicle in vehicles:
            vw, vh = vehicle[2] - vehicle[0], vehicle[3] - vehicle[1]
            top = vehicle[1] + max(self.top_share - 0.15, 0.0) * vh
            x0, y0 = np.floor(np.maximum([vehicle[0] - self.margin * vw, top], 0))
            x1, y1 = np.ceil(np.minimum(vehicle[2:] + self.margin * np.array([vw, vh]), [width, height]))
            windows.append(np.array([x0, y0, x1, y1], int))
            scales.append(min(self.max_upscale, self.crop_side / max(x1 - x0, y1 - y0), self.crop_width / (x1 - x0)))
        pixels = sum(float(np.prod(w[2:] - w[:2])) * s * s for w, s in zip(windows, scales, strict=True))
        shrink = min(1.0, (self.crop_pixels / pixels) ** 0.5) if pixels else 1.0
        return [(w, s * shrink) for w, s in zip(windows, scales, strict=True)]

    def _on_vehicle(self, image: np.ndarray, vehicle: np.ndarray, window: np.ndarray, scale: float) -> Regions:
        """Plate-shaped text of plate size in the lower part of one vehicle, searched on its enlarged window."""
        x0, y0, x1, y1 = window
        vw, vh = vehicle[2] - vehicle[0], vehicle[3] - vehicle[1]
        found = joined_lines(self._text(image[y0:y1, x0:x1], scale)).shifted(x0, y0)
        centre_y = (found.boxes[:, 1] + found.boxes[:, 3]) / 2
        keep = (plate_shaped(found.boxes, self.aspect) & (centre_y >= vehicle[1] + self.top_share * vh)
                & (found.widths <= self.vehicle_share[0] * vw) & (found.heights <= self.vehicle_share[1] * vh))
        return found[keep]

    def _text(self, image: np.ndarray, scale: float | None = None) -> Regions:
        found = self.text.detect(image, self.text_floor, scale=scale, detail=False)
        return found[found.scores >= self.text_floor]


def host_vehicles(boxes: np.ndarray, vehicles: np.ndarray, share: float = 0.8) -> np.ndarray:
    """(N, 4): per box, the smallest vehicle holding `share` of it, NaN where none does."""
    out = np.full((len(boxes), 4), np.nan, np.float32)
    if not len(boxes) or not len(vehicles):
        return out
    held = inside(boxes, vehicles) >= share
    area = (vehicles[:, 2] - vehicles[:, 0]) * (vehicles[:, 3] - vehicles[:, 1])
    for i in np.flatnonzero(held.any(axis=1)):
        out[i] = vehicles[np.flatnonzero(held[i])[np.argmin(area[held[i]])]]
    return out


def unique(found: Regions) -> Regions:
    """Candidates found twice (on a vehicle's crop and on the whole image) kept once, the first found."""
    clash = iou(found.boxes, found.boxes) >= 0.5
    keep: list[int] = []
    for i in range(len(found)):
        if not clash[i, keep].any():
            keep.append(i)
    return found[np.asarray(keep, int)]


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
