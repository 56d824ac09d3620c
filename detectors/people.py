"""People, found from several sources, scored by one calibrated probability and drawn by their silhouette, offline.

Sources: the COCO detector in finer windows than it uses for vehicles (people 30-100 px tall vanish in a
300x300 pass over a whole photo); a body box under every face the face detector finds (crowds, where the COCO
detector sees one blob, still show faces); and BlazePose's body detector for people near the camera, often cut
by the frame, boxed by their mask. Each candidate's raw score means something different per source, so the
score people get is P(person) from `detectors/people_calibration.py` (source, raw score, size, shape, a face in
the top of the box, other sources agreeing, the segmentation model's presence and mask cover on its crop), and
where two sources' boxes are one body the likelier is kept. The people selected by default get a silhouette
(a bool mask of the image's size) from BlazePose's segmentation output on a square crop around each
(`detectors/pose_models.py`); people under `min_mask_height` px, and masks that leave much of a person's centre
uncovered, keep their box. Without the weight package or its runtime, people are still found and drawn as
boxes (the segmentation features count as their mean); `versions()` says why.
"""
from __future__ import annotations

import cv2
import numpy as np

from detectors import people_calibration
from detectors.base import BaseDetector
from detectors.geometry import iou, nms
from detectors.mask2former import mask_box
from detectors.pose_models import MASK_SIDE, PIP_NAME, PoseDetector, PoseSegmenter, pasted
from detectors.regions import Regions
from detectors.registry import DetectorUnavailable, Registry, default_registry, register_detector


def exposed_detail(image: np.ndarray, mask: np.ndarray, box: np.ndarray, shrink: float = 0.15) -> float:
    """Share of the gradient energy in the middle of the box (shrunk by `shrink` a side) that the mask leaves out."""
    x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) * shrink, (y1 - y0) * shrink
    h, w = mask.shape
    cx0, cy0 = min(max(int(round(x0 + dx)), 0), w - 1), min(max(int(round(y0 + dy)), 0), h - 1)
    cx1, cy1 = max(min(int(round(x1 - dx)), w), cx0 + 1), max(min(int(round(y1 - dy)), h), cy0 + 1)
    grey = cv2.cvtColor(np.ascontiguousarray(image[cy0:cy1, cx0:cx1, :3]), cv2.COLOR_RGB2GRAY).astype(np.float32)
    energy = cv2.Sobel(grey, cv2.CV_32F, 1, 0) ** 2 + cv2.Sobel(grey, cv2.CV_32F, 0, 1) ** 2
    total = float(energy.sum())
    return float(energy[~mask[cy0:cy1, cx0:cx1]].sum()) / total if total > 0 else 0.0


def bodies_from_faces(faces: np.ndarray, width: float, below: float) -> np.ndarray:
    """A body box under each face box: `width` face widths either side of its centre, `below` face heights down."""
    w, h = faces[:, 2] - faces[:, 0], faces[:, 3] - faces[:, 1]
    cx = (faces[:, 0] + faces[:, 2]) / 2
    return np.stack([cx - width * w, faces[:, 1] - 0.2 * h, cx + width * w, faces[:, 1] + below * h], 1)


def distinct(people: Regions, sources: np.ndarray, same_body_iou: float) -> tuple[np.ndarray, np.ndarray]:
    """Each body once: the indices kept and their scores. Boxes of two sources overlapping by `same_body_iou` are
    one body, drawn by the box fitted to it (SSD's or BlazePose's, before a body estimated under a face) and
    scored by the likelier of the two. Boxes of one source are not merged here (SSD's are merged by the SSD
    detector, BlazePose's by NMS; bodies under neighbouring faces overlap as much as repeats)."""
    estimated = sources == people_calibration.SOURCES.index("face")
    order = np.lexsort((-people.scores, estimated))
    overlaps = iou(people.boxes[order], people.boxes[order]) >= same_body_iou
    src, scores = sources[order], people.scores[order].astype(np.float64)
    keep = np.ones(len(order), bool)
    for j in range(len(order)):
        if keep[j]:
            same = np.flatnonzero(keep & overlaps[j] & (src != src[j]))
            if len(same):
                scores[j] = max(scores[j], scores[same].max())
                keep[same] = False
    by_index = np.argsort(order[keep])
    return order[keep][by_index], scores[keep][by_index]


def optional(registry: Registry, name: str):
    """A helper detector, or None when it is not configured or cannot load (people are found without it)."""
    try:
        return registry.get(name) if name in registry.names() else None
    except DetectorUnavailable:
        return None


@register_detector("people")
class People(BaseDetector):
    labels = ("person",)

    def __init__(self, threshold: float, suggest: float, registry: Registry | None = None,
                 box_detector: str = "ssd_coco", max_tiles: int = 16, min_tile: int = 160, ssd_floor: float = 0.1,
                 face_detector: str = "retinaface", face_floor: float = 0.1,
                 body_width: float = 1.5, body_below: float = 4.0,
                 same_body_iou: float = people_calibration.SAME_BODY_IOU,
                 pose_floor: float = 0.5, pose_nms_iou: float = 0.3, min_mask_height: float = 32,
                 crop_scale: float = 1.25, smooth: float = 1.0, box_margin: float = 0.1, dilate: float = 0.05,
                 min_cover: float = 0.5, max_exposed: float = 0.3, max_masks: int = 32,
                 calibration: str = "", package: str = "mediapipe", pip_name: str = PIP_NAME) -> None:
        registry = registry or default_registry()
        try:
            self.boxes = registry.get(box_detector)
        except DetectorUnavailable as exc:
            raise DetectorUnavailable(f"people need {box_detector!r}, which is unavailable: {exc}") from exc
        self.faces = optional(registry, face_detector)
        self.reuses = face_detector if self.faces is not None else ""  # the engine hands over faces it found
        self.suggest = suggest
        self.max_tiles, self.min_tile, self.ssd_floor = max_tiles, min_tile, ssd_floor
        self.face_floor, self.body_width, self.body_below = face_floor, body_width, body_below
        self.same_body_iou = same_body_iou
        self.min_mask_height, self.max_masks = min_mask_height, max_masks
        self.crop_scale, self.smooth, self.box_margin = crop_scale, smooth, box_margin
        self.dilate, self.min_cover, self.max_exposed = dilate, min_cover, max_exposed
        self.pose_floor, self.pose_nms_iou = pose_floor, pose_nms_iou
        self.calibration = people_calibration.load(calibration) if calibration else None
        self.segmenter: PoseSegmenter | None = None
        self.pose: PoseDetector | None = None
        self.masks_unavailable = ""
        try:
            self.segmenter = PoseSegmenter(package=package, pip_name=pip_name)
            self.pose = PoseDetector(package=package, pip_name=pip_name)
        except DetectorUnavailable as exc:
            self.masks_unavailable = f"People are drawn as boxes: {exc}"

    def versions(self) -> dict[str, str]:
        masks = self.masks_unavailable or f"BlazePose full segmentation ({PIP_NAME}, Apache-2.0) on LiteRT"
        return {**self.boxes.versions(), **(self.faces.versions() if self.faces else {}), "person masks": masks}

    def detect(self, image: np.ndarray, threshold: float, masks: bool = True,
               reused: tuple[float, Regions] | None = None) -> Regions:
        """People scoring at least the floor; those at `threshold` or above get masks (with `masks`).

        `reused`: (floor, faces) the face detector already found in this image, used when searched low enough.
        """
        found, x, sources = self.candidates(image, reused)
        if self.calibration is not None:
            found = Regions.create(found.boxes, people_calibration.probability(self.calibration, x), "person",
                                   "people")
        return self.chosen(image, found, sources, threshold, masks)

    def chosen(self, image: np.ndarray, found: Regions, sources: np.ndarray, threshold: float,
               masks: bool = True) -> Regions:
        """Scored candidates, each body once, at least the floor; those at `threshold` with masks (with `masks`)."""
        kept, scores = distinct(found, sources, self.same_body_iou)
        people = Regions.create(found.boxes[kept], scores, "person", "people")
        people = people[people.scores >= self.floor(threshold)]
        if masks and self.segmenter is not None:
            people.masks = self.silhouettes(image, people, threshold)
        return people

    def candidates(self, image: np.ndarray,
                   reused: tuple[float, Regions] | None = None) -> tuple[Regions, np.ndarray, np.ndarray]:
        """Every source's person boxes down to its raw floor, their calibration features and sources."""
        h, w = image.shape[:2]
        found = self.boxes.detect(image, self.ssd_floor, max_tiles=self.max_tiles, min_tile=self.min_tile)
        found = found[(found.labels == "person") & (found.scores >= self.ssd_floor)]
        faces = self._faces(image, reused)
        ssd, face, pose = people_calibration.SOURCES  # each candidate's source rides in its detector field
        parts = [Regions.create(found.boxes, found.scores, "person", ssd),
                 Regions.create(bodies_from_faces(faces.boxes, self.body_width, self.body_below), faces.scores,
                                "person", face),
                 self._from_pose(image, pose)]
        people = Regions.merge(parts).clipped(w, h)
        sources = np.asarray([people_calibration.SOURCES.index(str(d)) for d in people.detectors], int)
        presence, cover = self._person_likeness(image, people.boxes)
        x = people_calibration.features(people.boxes, people.scores, sources, (h, w), faces.boxes, faces.scores,
                                        presence, cover)
        return Regions.create(people.boxes, people.scores, "person", "people"), x, sources

    def _person_likeness(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The segmentation model's person presence on each box's crop, and the share of the box its mask covers
        (NaN without the model)."""
        if self.segmenter is None or not len(boxes):
            return np.full(len(boxes), np.nan), np.full(len(boxes), np.nan)
        logits, presence, squares = self.segmenter.logits(image, boxes, self.crop_scale)
        scale = (squares[:, 2] - squares[:, 0]) / MASK_SIDE
        inner = np.clip(np.round((boxes - squares[:, [0, 1, 0, 1]]) / scale[:, None]), 0, MASK_SIDE - 1).astype(int)
        cover = [float((lg[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)] > 0).mean())
                 for lg, (x0, y0, x1, y1) in zip(logits, inner, strict=True)]
        return presence.astype(np.float64), np.asarray(cover)

    def _faces(self, image: np.ndarray, reused: tuple[float, Regions] | None) -> Regions:
        """Faces scoring at least `face_floor`: the ones handed over when searched that low, else found here."""
        if self.faces is None:
            return Regions.empty()
        if reused is not None and reused[0] <= self.face_floor:
            faces = reused[1]
        else:
            faces = self.faces.detect(image, self.face_floor)
        return faces[(faces.labels == "face") & (faces.scores >= self.face_floor)]

    def _from_pose(self, image: np.ndarray, source: str) -> Regions:
        """Bodies the pose detector finds (people near the camera, often cut by the frame), boxed by their mask.

        Each body's square goes through the segmentation model; the box around its mask is the person's box,
        scored by detection score x the model's presence probability. Bodies under `min_mask_height` are left to
        the other sources (BlazePose's detector is made for people near the camera).
        """
        if self.pose is None:
            return Regions.empty()
        squares, scores = self.pose.bodies(image, self.pose_floor)
        candidates = nms(Regions.create(squares, scores, "person", source), self.pose_nms_iou)
        if not len(candidates):
            return Regions.empty()
        logits, presence, squares = self.segmenter.logits(image, candidates.boxes, 1.0)
        boxes, kept = [], []
        for lg, square, score in zip(logits, squares, candidates.scores * presence, strict=True):
            mask = pasted(lg, square, image.shape[:2], self.smooth)
            if score < self.pose_floor or not mask.any():
                continue
            box = mask_box(mask)
            if box[3] - box[1] >= self.min_mask_height:
                boxes.append(box)
                kept.append(score)
        return Regions.create(boxes, kept, "person", source)

    def silhouettes(self, image: np.ndarray, people: Regions, threshold: float) -> list[np.ndarray | None]:
        """A mask for each person at `threshold` or above and at least `min_mask_height` tall, else None.

        Masks are bool arrays of the photo's size (12 MB each at 12 MP): at most `max_masks`, tallest first.
        """
        out: list[np.ndarray | None] = [None] * len(people)
        wanted = np.flatnonzero((people.scores >= threshold) & (people.heights >= self.min_mask_height))
        wanted = np.sort(wanted[np.argsort(-people.heights[wanted], kind="stable")][:self.max_masks])
        if not len(wanted):
            return out
        logits, _, squares = self.segmenter.logits(image, people.boxes[wanted], self.crop_scale)
        for i, lg, square in zip(wanted, logits, squares, strict=True):
            out[i] = self._mask(lg, square, people.boxes[i], image)
        return out

    def _mask(self, logits: np.ndarray, square: np.ndarray, box: np.ndarray, image: np.ndarray) -> np.ndarray | None:
        """The person's mask kept near its box and grown a little.

        None (the box is drawn) when the mask misses the box's centre, or leaves more than `max_exposed` of the
        detail (gradient energy) in the middle of the box untouched: a limb or a second person the model left out.
        """
        mask = pasted(logits, square, image.shape[:2], self.smooth)
        x0, y0, x1, y1 = box
        mx, my = (x1 - x0) * self.box_margin, (y1 - y0) * self.box_margin
        near = np.zeros_like(mask)
        near[max(int(y0 - my), 0):int(np.ceil(y1 + my)), max(int(x0 - mx), 0):int(np.ceil(x1 + mx))] = True
        mask = self._grown(mask & near, box)
        cx0, cy0, cx1, cy1 = (int(round(v)) for v in (x0 + 0.3 * (x1 - x0), y0 + 0.3 * (y1 - y0),
                                                       x1 - 0.3 * (x1 - x0), y1 - 0.3 * (y1 - y0)))
        centre = mask[cy0:max(cy1, cy0 + 1), cx0:max(cx1, cx0 + 1)]
        if not centre.size or centre.mean() < self.min_cover:
            return None
        return mask if exposed_detail(image, mask, box) <= self.max_exposed else None

    def _grown(self, mask: np.ndarray, box: np.ndarray) -> np.ndarray:
        """The mask dilated by `dilate` x the box's height: outlines are soft, and the renderer pads masks by 0."""
        grow = int(round(self.dilate * (box[3] - box[1])))
        if grow <= 0:
            return mask
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        return cv2.dilate(mask.view(np.uint8), kernel).astype(bool)
