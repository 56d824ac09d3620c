"""One calibrated face score: the probability that a candidate box is a face, from a logistic regression.

A face model's raw score means different things at different sizes (a true 10-px face scores 0.05, a railing
at 60 px 0.6), so the selection rule used to depend on box width. Instead, each candidate gets
P(face | raw score, size in the network's pixels, shape, how many anchors agreed), fitted leave-one-photo-out
on the dev set by `benchmarks/fit_faces.py` and stored in `face_calibration.json` (weights on standardised
features, readable as they are). The detector's threshold then applies to this probability alone.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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


@dataclass(frozen=True)
class Calibration:
    """Logistic regression on standardised features: p = sigmoid(bias + weights . (x - mean) / std)."""

    mean: np.ndarray
    std: np.ndarray
    weights: np.ndarray
    bias: float

    def probability(self, x: np.ndarray) -> np.ndarray:
        z = self.bias + ((np.asarray(x, np.float64) - self.mean) / self.std) @ self.weights
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> dict:
        return {"features": list(FEATURES), "mean": self.mean.tolist(), "std": self.std.tolist(),
                "weights": self.weights.tolist(), "bias": self.bias}

    @classmethod
    def from_json(cls, data: dict) -> Calibration:
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"calibration features {data['features']} are not {list(FEATURES)}: refit it")
        return cls(*(np.asarray(data[k], np.float64) for k in ("mean", "std", "weights")), float(data["bias"]))


def load(path: str | Path = DEFAULT_PATH) -> Calibration:
    path = Path(path)
    if not path.is_absolute():
        path = DEFAULT_PATH.parent / path
    return Calibration.from_json(json.loads(path.read_text())["model"])


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 50) -> Calibration:
    """L2-regularised logistic regression by Newton's method (the bias is not penalised)."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    mean, std = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-9)
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / std])
    w = np.zeros(z.shape[1])
    penalty = np.diag([0.0] + [l2] * x.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        gradient = z.T @ (p - y) + penalty @ w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return Calibration(mean, std, w[1:], float(w[0]))
