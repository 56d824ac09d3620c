"""The opt-in learned plate detector from pyplatex's ultralytics checkpoint, read and rebuilt without ultralytics."""
import importlib.util
import io
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from detectors.geometry import iou
from detectors.onnx_session import onnx_session
from detectors.pyplatex import MODEL, Record, RecordingUnpickler, exported, network, read_checkpoint
from tests.conftest import gt_boxes


@pytest.fixture(scope="module")
def checkpoint_path() -> Path:
    return Path(importlib.util.find_spec("pyplatex").submodule_search_locations[0]) / MODEL


@pytest.mark.parametrize("name", ["litealpr_carlong_0002.png", "litealpr_Hung_0060.png", "fastalpr_test_image.png"])
def test_finds_the_plate_of_a_car_photo(name, registry, eval_image, annotations):
    detector = registry.get("pyplatex")
    found = detector.detect(eval_image(name), 0.5)
    selected = found[detector.accepts(found, 0.5)]
    truth = gt_boxes(annotations[name], "plate")
    assert len(selected) and iou(truth, selected.boxes).max() >= 0.6
    assert set(selected.detectors) == {"pyplatex"}


def test_the_unpickler_calls_nothing_it_does_not_rebuild(tmp_path):
    """A pickle that would run a command gets a harmless record of the call instead."""
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            import os
            return os.system, (f"touch {marker}",)

    loaded = RecordingUnpickler(io.BytesIO(pickle.dumps(Payload()))).load()
    assert isinstance(loaded, Record) and type(loaded).__name__ == "system" and not marker.exists()


def test_the_exported_model_computes_the_rebuilt_network(checkpoint_path):
    """ONNX (traced at 64x64) and the torch rebuild agree at another size; the maps have 64 + 1 channels."""
    forward = network(read_checkpoint(checkpoint_path)["model"])
    x = np.random.default_rng(0).random((1, 3, 96, 160), dtype=np.float32)
    maps = onnx_session(exported(checkpoint_path)).run(None, {"images": x})
    with torch.inference_mode():
        expected = [m.numpy() for m in forward(torch.from_numpy(x))]
    assert [m.shape for m in maps] == [(1, 65, 12, 20), (1, 65, 6, 10), (1, 65, 3, 5)]
    assert max(float(np.abs(a - b).max()) for a, b in zip(maps, expected, strict=True)) < 1e-3
