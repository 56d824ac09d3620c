"""What every detector shares: its labels, the suggestion floor, the default selection, its versions.

A detector subclasses `BaseDetector`, sets `labels`, implements `detect` and overrides only what differs
(e.g. a detector whose scores mean something else). The engine calls `floor` to know how low to search and
`accepts` to know which regions are selected by default; regions in between are the amber suggestions.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np

from detectors.regions import Regions


class Detector(Protocol):
    """What the registry and the engine rely on."""

    labels: tuple[str, ...]
    suggest: float

    def floor(self, threshold: float) -> float: ...
    def accepts(self, regions: Regions, threshold: float) -> np.ndarray: ...
    def detect(self, image: np.ndarray, threshold: float) -> Regions: ...
    def versions(self) -> dict[str, str]: ...


class BaseDetector:
    labels: tuple[str, ...] = ()
    suggest: float = 1.0  # regions down to threshold * suggest come back as suggestions (set from the config)

    def floor(self, threshold: float) -> float:
        """The lowest score returned for `threshold`: suggestions included."""
        return threshold * self.suggest

    def accepts(self, regions: Regions, threshold: float) -> np.ndarray:
        """Which regions are selected by default at `threshold`: a calibrated score means what it says."""
        return regions.scores >= threshold

    def detect(self, image: np.ndarray, threshold: float) -> Regions:
        """Regions of an RGB uint8 (H, W, 3) image scoring at least `self.floor(threshold)`."""
        raise NotImplementedError

    def versions(self) -> dict[str, str]:
        """Model names and versions, for reports."""
        return {}
