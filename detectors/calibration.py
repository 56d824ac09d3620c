"""Calibrated scores: a small logistic regression turns a detector's evidence into the probability that a
region is what it claims to be (a face, a plate), so a threshold of 0.5 means even odds at every size.

The weights act on standardised features, so they read directly as each feature's pull; they are fitted
leave-one-photo-out by the scripts in `benchmarks/` (`fit_faces`, `fit_plates`) and stored as JSON beside the
detector that uses them, with the names of their features (a file fitted on other features is refused).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Calibration:
    """p = sigmoid(bias + weights . (x - mean) / std), over the features named in `features`."""

    features: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    weights: np.ndarray
    bias: float

    def probability(self, x: np.ndarray) -> np.ndarray:
        z = self.bias + ((np.asarray(x, np.float64) - self.mean) / self.std) @ self.weights
        return 1.0 / (1.0 + np.exp(-z))

    def named_weights(self) -> dict[str, float]:
        return {name: round(float(w), 3) for name, w in zip(self.features, self.weights, strict=True)}

    def to_json(self) -> dict:
        return {"features": list(self.features), "mean": self.mean.tolist(), "std": self.std.tolist(),
                "weights": self.weights.tolist(), "bias": self.bias}

    @classmethod
    def from_json(cls, data: dict, features: tuple[str, ...]) -> Calibration:
        if tuple(data["features"]) != tuple(features):
            raise ValueError(f"calibration features {data['features']} are not {list(features)}: refit it")
        return cls(tuple(features), *(np.asarray(data[k], np.float64) for k in ("mean", "std", "weights")),
                   float(data["bias"]))


def load(path: str | Path, features: tuple[str, ...], folder: Path = Path(__file__).parent) -> Calibration:
    """The model stored under "model" in a JSON file (a relative path is read from `folder`)."""
    path = Path(path)
    return Calibration.from_json(json.loads((path if path.is_absolute() else folder / path).read_text())["model"],
                                 features)


def fit(x: np.ndarray, y: np.ndarray, features: tuple[str, ...], l2: float = 1.0,
        iterations: int = 50) -> Calibration:
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
    return Calibration(tuple(features), mean, std, w[1:], float(w[0]))
