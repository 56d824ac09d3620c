"""Anonymiser: pixels, files and reports. Detection lives in `detectors/`; nothing here loads a model."""
__version__ = "0.1.0"
