"""One calibrated person score: the probability that a candidate box is a person, from a logistic regression.

People come from three sources whose raw scores mean different things (SSD's class score, the calibrated face
score under a body box, BlazePose's detection x presence), and a pole at 0.4 from SSD is no likelier a person
than a face's body at 0.2. Each candidate gets P(person | its source, raw score, height and share of the photo,
aspect, a face in the top of its box, how many other sources found the same body), fitted leave-one-photo-out
on the dev set by `benchmarks/fit_people.py` and stored in `people_calibration.json` (weights on standardised
features; see `detectors/calibration.py`). The detector's threshold then applies to this probability alone.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from detectors import calibration
from detectors.calibration import Calibration
from detectors.geometry import inside, iou

DEFAULT_PATH = Path(__file__).with_name("people_calibration.json")
SOURCES = ("ssd", "face", "pose")  # the SSD detector (whole photo and windows), bodies under faces, BlazePose
FEATURES = ("from_face", "from_pose", "logit_score", "log2_height", "log2_share", "log2_aspect",
            "face_support", "other_sources", "logit_presence", "mask_cover")
SAME_BODY_IOU = 0.3  # another source's box overlapping this much is the same body found again


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def probability(model: Calibration, x: np.ndarray) -> np.ndarray:
    """P(person) of candidates; a feature not measured (NaN: no segmentation model) counts as its mean."""
    return model.probability(np.where(np.isnan(x), model.mean, x))


def head_regions(boxes: np.ndarray) -> np.ndarray:
    """The top 35% of each box, where a standing or sitting person's face is."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.stack([b[:, 0], b[:, 1], b[:, 2], b[:, 1] + 0.35 * (b[:, 3] - b[:, 1])], 1)


def face_support(boxes: np.ndarray, faces: np.ndarray, face_scores: np.ndarray) -> np.ndarray:
    """Per box, the best score of a face lying (70%) in its head region and 10-80% of its width wide; else 0."""
    if not len(boxes) or not len(faces):
        return np.zeros(len(boxes))
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    ratio = (faces[:, 2] - faces[:, 0])[None, :] / np.maximum(b[:, 2] - b[:, 0], 1.0)[:, None]
    fits = (inside(faces, head_regions(b)).T >= 0.7) & (ratio >= 0.1) & (ratio <= 0.8)
    return np.where(fits, np.asarray(face_scores, np.float64)[None, :], 0.0).max(axis=1)


def features(boxes: np.ndarray, scores: np.ndarray, sources: np.ndarray, image_shape: tuple[int, int],
             faces: np.ndarray, face_scores: np.ndarray, presence: np.ndarray, cover: np.ndarray) -> np.ndarray:
    """(N, len(FEATURES)) features of candidates: `boxes` in image pixels, raw `scores`, `sources` (indices
    into SOURCES), the faces found in the photo (boxes and calibrated scores), and the segmentation model's
    person `presence` probability and mask `cover` (share of the box) on each candidate's crop (NaN: no model)."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    src = np.asarray(sources, int)
    height = np.maximum(b[:, 3] - b[:, 1], 1.0)
    width = np.maximum(b[:, 2] - b[:, 0], 1.0)
    h, w = image_shape
    same = iou(b, b) >= SAME_BODY_IOU if len(b) else np.zeros((0, 0), bool)
    others = [len(set(src[row].tolist()) - {own}) for row, own in zip(same, src, strict=True)]
    return np.stack([src == 1, src == 2, logit(scores), np.log2(height), np.log2(height * width / (h * w)),
                     np.log2(height / width), face_support(b, np.asarray(faces, np.float64).reshape(-1, 4),
                                                           face_scores), np.asarray(others, np.float64),
                     logit(presence), np.asarray(cover, np.float64)],
                    axis=1).astype(np.float64)


def load(path: str | Path = DEFAULT_PATH) -> Calibration:
    return calibration.load(path, FEATURES)


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0) -> Calibration:
    return calibration.fit(x, y, FEATURES, l2)
