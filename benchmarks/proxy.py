"""The re-identification proxy: a face detector other than the one we anonymise with, run on outputs.

A face that an independent model still finds after anonymisation keeps a face's structure; finding it is a
cheap stand-in for a face-recognition attack. CenterFace (detectors/centerface.py) is used when it loads,
otherwise OpenCV's Haar cascade (shipped in opencv-python-headless 4.14); neither is RetinaFace.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from detectors.registry import DetectorUnavailable, Registry

HAAR_FILE = "haarcascade_frontalface_default.xml"


@dataclass
class Proxy:
    name: str
    find: Callable[[np.ndarray], np.ndarray]  # RGB uint8 -> (N,4) boxes x0,y0,x1,y1


def independent_face_detector(registry: Registry, anonymised_with: str = "retinaface") -> Proxy:
    """CenterFace at its configured threshold, else the Haar cascade; never the detector named `anonymised_with`."""
    reasons = []
    if anonymised_with != "centerface":
        try:
            detector = registry.get("centerface")
            threshold = float(registry.settings("centerface")["threshold"])

            def centerface(rgb: np.ndarray) -> np.ndarray:
                found = detector.detect(rgb, threshold)
                return found[detector.accepts(found, threshold)].boxes

            return Proxy(f"CenterFace (detectors/centerface.py, threshold {threshold})", centerface)
        except DetectorUnavailable as exc:
            reasons.append(f"CenterFace unavailable: {exc}")
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + HAAR_FILE)
    if cascade.empty():
        raise RuntimeError(f"no independent face detector: {'; '.join(reasons)}; {HAAR_FILE} did not load")

    def haar(rgb: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        found = cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=3, minSize=(8, 8))
        boxes = np.asarray(found, np.float32).reshape(-1, 4)
        return np.hstack([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]])

    return Proxy(f"OpenCV Haar cascade {HAAR_FILE} ({'; '.join(reasons) or 'chosen'})", haar)
