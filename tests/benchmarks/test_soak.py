"""The soak test's own judgement (no server): memory slope, deletion ages and the verdicts it prints."""
from __future__ import annotations

import os
import time

from benchmarks.soak import HEADER, MIN_BURSTS, Burst, ages, files, row, rss_slope_kb, verdicts


def bursts(rss: list[float], probe_s: float = 2.0, oldest_s: float = 30) -> list[Burst]:
    return [Burst(i, i, 24 * (i + 1), 24, 0, 2.5, 4.5, 5.0, probe_s, mb, oldest_s, oldest_s, 2, 3)
            for i, mb in enumerate(rss)]


def result(series: list[Burst], errors: dict | None = None, drained: float | None = 12) -> dict:
    return {"requests": series[-1].requests, "errors": errors or {}, "probe_limit_s": 10, "bound_s": 180,
            "bursts": [vars(b) for b in series], "rss_slope_kb_per_request": rss_slope_kb(series),
            "peak_rss_mb": max(b.rss_mb for b in series), "drained_s": drained, "left": ["gradio/x/photo.jpg"],
            "sessions_left": 0 if drained else 1}


def test_the_slope_ignores_the_warm_up_and_sees_a_leak():
    warm_then_flat = [900, 1100, 1200, 1210, 1205, 1212, 1208, 1211]
    assert abs(rss_slope_kb(bursts(warm_then_flat))) < 100
    leaking = [1000 + 2 * i for i in range(8)]  # 2 MB per burst of 24 requests: ~85 KB per request
    assert 80 < rss_slope_kb(bursts(leaking)) < 90
    assert rss_slope_kb(bursts([1000, 1001])) is None  # too few bursts to tell


def test_every_check_passes_on_a_good_run_and_each_failure_is_named():
    good = bursts([1000, 1100, 1105, 1102, 1104, 1103])
    assert all(passed for _, passed, _ in verdicts(result(good), 100))
    bad = bursts([1000 + 10 * i for i in range(6)], probe_s=12.5, oldest_s=200)
    checks = {name: (passed, figure) for name, passed, figure in
              verdicts(result(bad, {"/photo: AppError: expired": 2}, drained=None), 100)}
    assert checks["every request answered"] == (False, "144 requests, 2 failed")
    assert checks["fresh /detect within 10 s after each burst"] == (False, "slowest 12.5 s over 6 bursts")
    assert not checks["memory flat (< 100 KB per request, second half)"][0]
    assert checks["nothing kept beyond 180 s"] == (False, "oldest seen 200 s")
    assert checks["folders empty after the last burst"] == (False, "1 session folders left: ['gradio/x/photo.jpg']")
    assert checks[f"at least {MIN_BURSTS} bursts"] == (True, "6 bursts")


def test_fewer_than_six_bursts_fail_the_verdict_whatever_else_they_show():
    short = bursts([1000, 1001, 1002, 1001, 1002])  # flat, quick, clean: still too few to judge
    checks = {name: passed for name, passed, _ in verdicts(result(short), 100)}
    assert MIN_BURSTS == 6 and not checks["at least 6 bursts"]
    assert not all(checks.values())


def test_the_table_has_latency_percentiles_the_probe_memory_and_session_folders_for_each_burst():
    columns = [c.strip() for c in HEADER.splitlines()[0].strip("|").split("|")]
    for wanted in ("answered", "p50 s", "p95 s", "fresh /detect s", "RSS MB", "session folders"):
        assert wanted in columns
    cells = [c.strip() for c in row(bursts([1000])[0]).strip("|").split("|")]
    assert len(cells) == len(columns)
    assert dict(zip(columns, cells, strict=True))["p95 s"] == "4.5"
    slope_figure = dict((n, f) for n, _, f in verdicts(result(bursts([1000 + 2 * i for i in range(8)])), 100))
    assert "(+2.0 MB per burst)" in slope_figure["memory flat (< 100 KB per request, second half)"]  # 2 MB a burst


def test_ages_and_files_leave_out_the_apps_own_files_and_empty_ones(tmp_path):
    example, upload, empty = tmp_path / "a" / "example.jpg", tmp_path / "b" / "photo.jpg", tmp_path / "tmp0"
    for path, data in ((example, b"x"), (upload, b"y"), (empty, b"")):
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
    assert files(tmp_path, frozenset({example})) == [upload]
    assert files(tmp_path, empty=True) == [empty]
    old = time.time() - 500
    os.utime(tmp_path / "b", (old, old))  # a session folder last touched 500 s ago
    assert max(ages(tmp_path, sessions=True)) >= 500
    assert max(ages(tmp_path, sessions=False, app_own=frozenset({example}))) < 60  # made just now
