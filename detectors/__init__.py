"""Detectors know models and return `Regions`; nothing here touches output pixels."""
from detectors.engine import DEFAULT_KINDS, DetectionResult, detect, parse_kinds
from detectors.regions import Regions
from detectors.registry import DetectorUnavailable, Registry, default_registry, register_detector

__all__ = ["DEFAULT_KINDS", "DetectionResult", "DetectorUnavailable", "Regions", "Registry", "default_registry",
           "detect", "parse_kinds", "register_detector"]
