"""One calibrated face score: the probability that a candidate box is a face, from a logistic regression.

A face model's raw score means different things at different sizes (a true 10-px face scores 0.05, a railing
at 60 px 0.6), so the selection rule used to depend on box width. Instead, each candidate gets
P(face | raw score, size in the network's pixels, shape, how many anchors agreed), fitted leave-one-photo-out
on the dev set by `benchmarks/fit_faces.py` and stored in `face_calibration.json` (weights on standardised
features, readable as they are; see `detectors/calibration.py`). The detector's threshold then applies to this
probability alone.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from detectors import calibration
from detectors.calibration import Calibration

DEFAULT_PATH = Path(__file__).with_name("face_calibration.json")
FEATURES = ("logit_score", "log2_width", "logit_x_log2_width", "log2_aspect", "log2_support")


def features(scores: np.ndarray, boxes: np.ndarray, scale: np.ndarray, support: np.ndarray) -> np.ndarray:
    """(N, len(FEATURES)) features of candidates: raw `scores`, `boxes` in image pixels, the network's `scale`
    for each box, and `support` = raw anchors (this one included) overlapping the box before NMS."""
    s = np.clip(np.asarray(scores, np.float64), 1e-4, 1 - 1e-4)
    logit = np.log(s / (1 - s))
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    width = np.maximum(b[:, 2] - b[:, 0], 1.0)
    height = np.maximum(b[:, 3] - b[:, 1], 1.0)
    log_width = np.log2(width * np.asarray(scale, np.float64))
    return np.stack([logit, log_width, logit * log_width, np.log2(height / width),
                     np.log2(np.maximum(np.asarray(support, np.float64), 1.0))], axis=1)


def load(path: str | Path = DEFAULT_PATH) -> Calibration:
    return calibration.load(path, FEATURES)


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0) -> Calibration:
    return calibration.fit(x, y, FEATURES, l2)
