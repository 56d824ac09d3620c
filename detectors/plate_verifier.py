"""The plate verifier: the probability that a candidate region is a licence plate, from a logistic regression.

The text detector's probability says "text", not "plate": a traffic light or a shop sign scores as high as a
plate. The verifier combines what a plate gives away: what it reads as (Latin letters mixed with digits, a
plausible length, no other script, the recogniser's confidence), its shape and size (in the image and against
its vehicle), where it sits on its vehicle, its contrast and the text probability. The weights act on
standardised features, so they read as they are; they are fitted leave-one-photo-out on the dev set by
`benchmarks/fit_plates.py` and stored in `plate_verifier.json`. An empty reading is no evidence by itself:
the geometry and the vehicle then decide.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from detectors import calibration
from detectors.calibration import Calibration
from detectors.plate_reader import Reading

DEFAULT_PATH = Path(__file__).with_name("plate_verifier.json")
FEATURES = ("logit_text", "log2_aspect", "log2_width", "log2_height_share", "on_vehicle", "width_of_vehicle",
            "depth_on_vehicle", "characters", "digit_share", "letters_and_digits", "plate_length", "other_script",
            "lower_case", "confidence", "contrast", "small", "small_characters")
SMALL = 32  # px: narrower candidates read badly (a reading counts differently there)
__all__ = ["DEFAULT_PATH", "FEATURES", "Calibration", "Evidence", "contrast", "features", "fit", "load"]


@dataclass
class Evidence:
    """What the verifier looks at for N candidates of one image (the features are computed from it)."""

    boxes: np.ndarray  # (N, 4) in image pixels
    text: np.ndarray  # (N,) the text detector's probability
    vehicles: np.ndarray  # (N, 4) box of the vehicle each lies on, NaN where none
    readings: list[Reading]  # from PlateReader.read
    contrast: np.ndarray  # (N,) see `contrast`
    image_height: int
    learned: np.ndarray | None = None  # (N,) best learned plate detector's score on it (opt-in extra), else None

    def features(self) -> np.ndarray:
        """(N, len(FEATURES)) features."""
        b = np.asarray(self.boxes, np.float64).reshape(-1, 4)
        v = np.asarray(self.vehicles, np.float64).reshape(-1, 4)
        w, h = np.maximum(b[:, 2] - b[:, 0], 1.0), np.maximum(b[:, 3] - b[:, 1], 1.0)
        t = np.clip(np.asarray(self.text, np.float64), 1e-3, 1 - 1e-3)
        on = ~np.isnan(v[:, 0])
        v = np.where(on[:, None], v, [0.0, 0.0, 1.0, 1.0])
        vw, vh = np.maximum(v[:, 2] - v[:, 0], 1.0), np.maximum(v[:, 3] - v[:, 1], 1.0)
        count = np.array([[r.letters, r.digits, r.others, r.lower] for r in self.readings], np.float64).reshape(-1, 4)
        letters, digits = count[:, 0], count[:, 1]
        length = letters + digits
        small = (w < SMALL).astype(float)
        return np.stack([
            np.log(t / (1 - t)), np.log2(w / h), np.log2(w), np.log2(h / self.image_height), on.astype(float),
            np.where(on, w / vw, 0.0), np.where(on, ((b[:, 1] + b[:, 3]) / 2 - v[:, 1]) / vh, 0.0),
            np.minimum(length, 10), digits / np.maximum(length, 1), ((letters >= 1) & (digits >= 2)).astype(float),
            ((length >= 5) & (length <= 10)).astype(float), np.minimum(count[:, 2], 4), np.minimum(count[:, 3], 4),
            np.array([r.confidence for r in self.readings], np.float64), np.asarray(self.contrast, np.float64),
            small, small * np.minimum(length, 10)]
            + ([] if self.learned is None else [np.asarray(self.learned, np.float64)]),
            axis=1).reshape(len(b), len(features(self.learned is not None)))


def contrast(image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Standard deviation of the grey levels inside each box, over 64: plates are dark on light or light on dark."""
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    out = []
    for x0, y0, x1, y1 in np.round(boxes).astype(int):
        patch = grey[max(y0, 0):max(y1, y0 + 1), max(x0, 0):max(x1, x0 + 1)]
        out.append(float(patch.std()) / 64 if patch.size else 0.0)
    return np.asarray(out, np.float64)


def features(learned: bool = False) -> tuple[str, ...]:
    """The verifier's features: with an opt-in learned plate detector, its score is one more."""
    return FEATURES + (("learned",) if learned else ())


def load(path: str | Path = DEFAULT_PATH, learned: bool = False) -> Calibration:
    return calibration.load(path, features(learned))


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0) -> Calibration:
    return calibration.fit(x, y, features(x.shape[1] > len(FEATURES)), l2)
