"""QR codes and barcodes with OpenCV's own detectors (no weights): `QRCodeDetectorAruco` and `barcode.BarcodeDetector`.

Only where the codes are matters: payloads are never decoded into regions (they can hold personal data).
The detectors give no scores, so every region scores 1.0. `QRCodeDetectorAruco` was chosen over
`QRCodeDetector` by measurement (QR codes pasted into dev-set photos: 31 vs 19 of 34 found, none found in
the dev set's own photos by either). Barcode corners often stop short of the outer bars, so polygons are
grown around their centre by a margin (config). OpenCV's detector objects are not documented as
thread-safe and cost microseconds to create, so each call makes its own.
"""
from __future__ import annotations

import cv2
import numpy as np

from detectors.base import BaseDetector
from detectors.regions import Regions
from detectors.registry import DetectorUnavailable, register_detector


@register_detector("codes")
class Codes(BaseDetector):
    labels = ("qr", "barcode")

    def __init__(self, threshold: float, suggest: float, qr_margin: float, barcode_margin: float) -> None:
        if not hasattr(cv2, "barcode") or not hasattr(cv2, "QRCodeDetectorAruco"):
            raise DetectorUnavailable(f"OpenCV {cv2.__version__} lacks QRCodeDetectorAruco or the barcode module.")
        self.suggest = suggest
        self.margins = {"qr": qr_margin, "barcode": barcode_margin}

    def versions(self) -> dict[str, str]:
        return {"code detectors": f"OpenCV {cv2.__version__} QRCodeDetectorAruco + barcode.BarcodeDetector"}

    def detect(self, image: np.ndarray, threshold: float) -> Regions:
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        h, w = grey.shape
        found = {"qr": cv2.QRCodeDetectorAruco().detectMulti(grey),
                 "barcode": cv2.barcode.BarcodeDetector().detectMulti(grey)}
        polygons, labels = [], []
        for label, (ok, corners) in found.items():
            for quad in corners if ok else []:
                polygons.append(grown(quad.reshape(-1, 2), self.margins[label]).clip(0, [w, h]))
                labels.append(label)
        boxes = [[p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()] for p in polygons]
        return Regions.create(boxes, np.ones(len(boxes)), labels, "codes", polygons=polygons).clipped(w, h)


def grown(polygon: np.ndarray, margin: float) -> np.ndarray:
    """The polygon scaled about its centre so that each side moves out by `margin` of the polygon's size."""
    centre = polygon.mean(axis=0)
    return (centre + (polygon - centre) * (1 + 2 * margin)).astype(np.float32)
