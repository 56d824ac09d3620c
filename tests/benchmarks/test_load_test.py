"""The load test, scaled down for CI: 4 concurrent API users on a 2 MP photo against the app on loopback.

The full-size run (16 users, 12 MP) is the documented command in benchmarks/load_test.py.
"""
import os

import pytest
from PIL import Image

from benchmarks.load_test import require_loopback, run_load
from tests.conftest import EXAMPLES


@pytest.mark.slow
def test_concurrent_users_all_get_answers(app_url, tmp_path):
    photo = tmp_path / "group_2mp.jpg"
    with Image.open(EXAMPLES / "group.jpg") as im:
        im.convert("RGB").resize((1800, 1200)).save(photo, quality=92)
    figures = run_load(app_url, photo, users=4, rounds=1, max_seconds=600, pid=os.getpid())  # served in-process
    assert figures["errors"] == {}
    for endpoint in ("/detect", "/anonymise"):
        assert figures["endpoints"][endpoint]["requests"] == 4 and figures["endpoints"][endpoint]["failures"] == 0
    assert figures["server_peak_rss_mb"] >= figures["server_rss_before_mb"] > 0


@pytest.mark.parametrize("url", ["http://10.0.0.1:7860/", "http://192.168.1.2/", "not a url"])
def test_only_loopback_servers_are_loaded(url):
    with pytest.raises(SystemExit):
        require_loopback(url)
