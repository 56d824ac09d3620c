"""The speed probe's toggle measurement: what it times really makes no model call."""
import json
import subprocess
import sys

from tests.conftest import EXAMPLES, ROOT


def test_a_toggle_re_renders_without_any_model_call():
    spec = {"what": "pipeline", "kinds": "faces,plates", "image": str(EXAMPLES / "group.jpg"), "repeats": 2,
            "toggle": True}
    done = subprocess.run([sys.executable, "-m", "benchmarks.probe", json.dumps(spec)], cwd=ROOT, check=True,
                          capture_output=True, text=True, timeout=600)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    toggle = result["toggle"]
    assert result["selected"] >= 1 and toggle["regions"] == result["regions"]
    assert toggle["model_calls"] == 0
    assert max(toggle["preview_size"]) <= 1280 and toggle["preview"]["runs"] == toggle["render"]["runs"] == 2
