"""What the learned plate detectors share: opt-in only (their weights' licences are unclear), one-sentence
reasons when missing, passes at the configured sides."""
import pytest

from detectors.registry import DetectorUnavailable, Registry, load_config
from tests.conftest import ROOT

LEARNED = {"platedet": "platedet==0.0.2", "pyplatex": "pyplatex==0.0.5"}


@pytest.mark.parametrize("name", LEARNED)
def test_is_opt_in_and_says_why_when_missing(name):
    config = load_config()
    uses = [kind["detector"] for kind in config["kinds"].values()] + [config["prompt"]["detector"]]
    assert name not in uses, "a learned plate model's licence is unclear: it must never be a default"
    config["detectors"][name]["package"] = "no_such_plate_package"
    with pytest.raises(DetectorUnavailable) as caught:
        Registry(config).get(name)
    reason = str(caught.value)
    assert LEARNED[name] in reason and "AGPL" in reason and "requirements-plates-extra.txt" in reason
    assert "\n" not in reason and reason.endswith(".") and ". " not in reason


def test_the_extra_is_pinned_apart_and_installed_by_setup_dev_only():
    pins = [line.split("#")[0].strip() for line in (ROOT / "requirements-plates-extra.txt").read_text().splitlines()]
    assert set(LEARNED.values()) <= set(pins)
    models = (ROOT / "requirements-models.txt").read_text()
    assert not any(pin.split("==")[0] in models for pin in LEARNED.values())
    setup = (ROOT / "setup.sh").read_text()
    assert '[ "$dev" = "--dev" ] && "${pip[@]}" install --no-deps -r requirements-plates-extra.txt' in setup


@pytest.mark.parametrize("name", LEARNED)
def test_one_pass_per_side_capped_by_the_upscale(name):
    config = load_config()
    config["detectors"][name] |= {"sides": [640, 1280], "max_upscale": 2.0}
    detector = Registry(config).get(name)
    assert detector.scales(1920, 1080) == [640 / 1920, 1280 / 1920]
    assert detector.scales(380, 285) == [640 / 380, 2.0]
    assert detector.scales(200, 100) == [2.0]
