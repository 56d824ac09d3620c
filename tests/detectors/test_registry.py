import pytest

from detectors.registry import DetectorUnavailable, Registry, load_config


def test_every_configured_kind_names_a_configured_detector():
    config = load_config()
    for kind, entry in config["kinds"].items():
        assert entry["detector"] in config["detectors"], kind


def test_missing_module_is_unavailable_with_a_reason_and_remembered():
    config = {"kinds": {}, "detectors": {"ghost": {"module": "detectors.no_such_module", "threshold": 0.5}}}
    registry = Registry(config)
    with pytest.raises(DetectorUnavailable, match="cannot be imported"):
        registry.get("ghost")
    status = registry.status("ghost")
    assert status.state == "unavailable" and "no_such_module" in status.reason


def test_detector_loads_once_and_is_shared(registry):
    first = registry.get("retinaface")
    assert registry.get("retinaface") is first
    assert registry.status("retinaface").state == "ready"


def test_unknown_detector_name_is_a_clear_error(registry):
    with pytest.raises(KeyError, match="unknown detector"):
        registry.get("nope")
