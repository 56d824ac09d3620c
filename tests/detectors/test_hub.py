"""Hub loading plumbing: local folders, the offline and no-network failures, status without downloads.

Real Hub ids cannot be downloaded here; the tiny models of conftest stand in for a cached model. The failure
paths must give one clear sentence and leave the embedded detectors working.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from huggingface_hub import constants as hub_constants  # imported now, before any test sets HF_HUB_OFFLINE

from detectors import hub
from detectors.engine import detect
from detectors.geometry import iou
from detectors.registry import DetectorUnavailable
from tests.conftest import ROOT, gt_boxes
from tests.detectors.conftest import registry_with

NOT_CACHED = "example-org/owlv2-never-downloaded"


def one_sentence(text: str) -> bool:
    return text.endswith(".") and "\n" not in text and len(text) < 200


def test_hub_plumbing_nothing_heavy_at_import():
    """Importing the hub detectors loads neither torch nor transformers, and touches no network."""
    code = ("import sys, detectors.engine, detectors.owlv2, detectors.mask2former; "
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_hub_plumbing_offline_failure_is_one_clear_sentence(monkeypatch, eval_image, annotations):
    """HF_HUB_OFFLINE with an id not in the cache: unavailable with the reason; faces still found."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    registry = registry_with(owlv2=NOT_CACHED, mask2former="example-org/mask2former-never-downloaded")
    registry.config["kinds"]["silhouettes"]["detector"] = "mask2former"  # the Hub choice (embedded by default)
    registry.config["prompt"]["detector"] = "owlv2"  # the stronger prompt model (OWL-ViT by default)
    with pytest.raises(DetectorUnavailable) as caught:
        registry.get("owlv2")
    reason = str(caught.value)
    assert one_sentence(reason) and NOT_CACHED in reason and "local cache" in reason and "HF_HUB_OFFLINE" in reason
    status = registry.status("owlv2", load=True)
    assert (status.state, status.reason) == ("unavailable", reason)

    image = eval_image("ultra_zidane.jpg")
    result = detect(image, "faces,silhouettes", None, registry, prompt="logo, name badge")
    assert set(result.unavailable) == {"prompt", "silhouettes"}
    assert result.unavailable["prompt"] == reason and one_sentence(result.unavailable["silhouettes"])
    faces = result.regions[result.regions.labels == "face"]
    truth = gt_boxes(annotations["ultra_zidane.jpg"], "face")
    assert len(truth) and (iou(truth, faces.boxes).max(axis=1) > 0.4).all()
    assert registry.status("retinaface").state == "ready"


def test_hub_plumbing_status_lists_without_loading_or_downloading(monkeypatch, tiny_owlv2):
    """A cached (here: local) model is listed "not loaded" and loads on demand; a missing one says why."""
    registry = registry_with(owlv2=str(tiny_owlv2), mask2former=str(tiny_owlv2.parent / "no-such-folder"))
    assert registry.status("owlv2").state == "not loaded"
    missing = registry.status("mask2former", load=True)
    assert missing.state == "unavailable" and one_sentence(missing.reason) and "does not exist" in missing.reason
    assert registry.status("owlv2", load=True).state == "ready"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    offline = registry_with(owlv2=NOT_CACHED).status("owlv2", load=True)
    assert offline.state == "unavailable" and "HF_HUB_OFFLINE" in offline.reason


def test_hub_plumbing_no_network_fails_fast_with_a_reason(monkeypatch):
    """Without HF_HUB_OFFLINE the Hub is asked (short timeout): here it cannot be reached; elsewhere the id is
    unknown. Either way the detector is unavailable with one sentence naming the model."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)  # huggingface_hub read the variable at import
    state, reason = hub.availability(NOT_CACHED)
    assert state == "unavailable" and one_sentence(reason) and NOT_CACHED in reason


@pytest.mark.parametrize("model, words", [("/no/such/model-folder", "does not exist"),
                                          ("not a model id", "neither a model folder nor")])
def test_hub_plumbing_bad_model_setting(model, words):
    with pytest.raises(DetectorUnavailable, match=words) as caught:
        hub.model_folder("owlv2", model)
    assert one_sentence(str(caught.value))


def test_hub_plumbing_download_progress_counts_new_bytes(tmp_path):
    """Progress is read from the cache's blobs folder: bytes there before the download do not count."""
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    (blobs / "old").write_bytes(bytes(300_000))
    download = hub.Download("org/model", total=620_000, blobs=blobs, already=300_000)
    assert download.done() == 0 and download.fraction() == 0
    (blobs / "abc.0f3a.incomplete").write_bytes(bytes(155_000))
    assert download.done() == 155_000 and download.fraction() == pytest.approx(0.25)
    assert download.describe().endswith(" of 1 MB (org/model)")
    (blobs / "def").write_bytes(bytes(700_000))
    assert download.done() == 620_000 and np.isclose(download.fraction(), 1.0)
