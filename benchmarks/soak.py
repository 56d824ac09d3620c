"""Soak test: N users uploading, toggling and downloading for a bounded time against an app this script
starts on loopback, showing memory flat, session files deleted on time and the server still quick.

    .venv/bin/python -m benchmarks.run soak [--minutes 30] [--users 4] [--keep-seconds 120]

The users work in bursts: in each, every user (its own gradio_client session) uploads a 1920x1080 photo
(/photo), toggles its regions three times (/pick), downloads the full-size export (/export) and sends the photo
to the public /anonymise. The photos cycle through more distinct files than the app's detection cache holds, so
every upload is detected again. After each burst:

- a fresh /detect (a photo the app has never seen) must be answered within --probe-seconds (default 10);
- the server's RSS (process and children) is read: over the second half of the run its slope per request must
  stay under --max-kb-per-request (default 100 KB; a leaked preview or photo would be 1-6 MB per request), which
  takes at least MIN_BURSTS bursts (a 30-minute run with 4 users makes about 20 on 2 loaded cores);
- no file in Gradio's upload cache (GRADIO_TEMP_DIR) and no session folder (ANONYMISER_WORK_DIR) may be older
  than the retention time plus a quarter of it (the sweep interval) plus --slack-seconds (default 30).

After the last burst both folders must empty within that same bound. Exit code 1 if any check fails.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from anonymiser.images import one_line
from benchmarks.app_latency import open_photo, start_server, toggles, wait_until_up
from benchmarks.common import RssSampler, free_port, rss_mb, seconds, ui_inputs
from benchmarks.evalset import DEFAULT_EVAL, load_eval
from benchmarks.load_test import check_answer, distinct_photos
from benchmarks.speed import prepare

POOL_SIZE = 80  # distinct photos, more than the app's detection cache holds (64): every upload is detected
MIN_BURSTS = 6  # fewer cannot show a memory slope (its second half must hold 3) nor deletions over time
Request = tuple[str, float, str | None]  # endpoint, seconds, error


@dataclass
class Burst:
    index: int
    minute: float  # since the first burst started
    requests: int  # all requests so far
    answered: int  # in this burst
    failures: int  # in this burst
    p50_s: float  # this burst's answered requests
    p95_s: float
    slowest_s: float  # this burst's slowest request
    probe_s: float  # the fresh /detect after it
    rss_mb: float  # the server's, after the probe
    oldest_upload_s: float  # the oldest file in Gradio's upload cache
    oldest_session_s: float  # the oldest session folder
    sessions: int  # session folders left
    files: int  # files left in both folders


def files(folder: Path, app_own: frozenset[Path] = frozenset(), empty: bool = False) -> list[Path]:
    """Files under `folder` except `app_own` (there before any user came: the app's example photos), with data,
    or (`empty`) without: Gradio's upload route leaves one empty temporary file per API upload, never deleted."""
    if not folder.is_dir():
        return []
    return [p for p in folder.rglob("*") if p.is_file() and p not in app_own and (p.stat().st_size == 0) == empty]


def ages(folder: Path, sessions: bool, app_own: frozenset[Path] = frozenset()) -> list[float]:
    """Seconds since each session folder was last touched (what the app's sweep looks at), or since each cached
    file was made (what Gradio's cache cleaning looks at)."""
    now = time.time()
    if sessions:
        return [now - p.stat().st_mtime for p in folder.iterdir() if p.is_dir()] if folder.is_dir() else []
    return [now - p.lstat().st_ctime for p in files(folder, app_own)]


def fresh_photo(photo: Path, i: int, folder: Path) -> Path:
    """A photo no pool photo equals (so /detect cannot answer from the cache): mirrored, `i` columns cut."""
    path = folder / f"probe-{i}.jpg"
    with Image.open(photo) as im:
        im.transpose(Image.Transpose.FLIP_LEFT_RIGHT).crop((i, 0, im.width, im.height)).save(path, quality=92)
    return path


def user_round(client: Any, defaults: dict[str, list], photo: Path, size: tuple[int, int],
               downloads: Path) -> list[Request]:
    """One user's visit: upload, three toggles, download the export, then the same photo through /anonymise."""
    from gradio_client import handle_file

    done: list[Request] = []

    def step(endpoint: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.monotonic()
        try:
            result = call(*args, **kwargs)
        except Exception as exc:
            done.append((endpoint, time.monotonic() - start, f"{type(exc).__name__}: {one_line(exc)[:160]}"))
            return None
        done.append((endpoint, time.monotonic() - start, None))
        return result

    on = step("/photo", open_photo, client, defaults, photo)
    if on is not None:
        step("/pick", toggles, client, defaults, on, 3)
        exported = step("/export", client.predict, *defaults["export"], api_name="/export")
        paths = [o.get("value") if isinstance(o, dict) else o for o in exported or ()]
        if exported is not None and not any(isinstance(p, str) and os.path.isfile(p) for p in paths):  # no raise
            done[-1] = ("/export", done[-1][1], "no file to download")
    answer = step("/anonymise", client.predict, handle_file(str(photo)), api_name="/anonymise")
    if answer is not None:
        try:
            check_answer("/anonymise", answer, size)
        except Exception as exc:
            done[-1] = ("/anonymise", done[-1][1], str(exc))
    shutil.rmtree(downloads, ignore_errors=True)  # the client's copies: only the server's folders are watched
    return done


def rss_slope_kb(bursts: list[Burst]) -> float | None:
    """KB of server RSS per request over the second half of the run (the first half loads models, fills caches)."""
    late = bursts[len(bursts) // 2:]
    if len(late) < 3 or late[-1].requests == late[0].requests:
        return None
    return float(np.polyfit([b.requests for b in late], [b.rss_mb for b in late], 1)[0]) * 1024


def wait_for_empty(folders: tuple[Path, Path], app_own: frozenset[Path], bound: float) -> float | None:
    """Seconds until no user file is left in `folders`, None if some are still there after `bound` seconds."""
    start = time.monotonic()
    while time.monotonic() - start < bound:
        if not any(files(folder, app_own) for folder in folders):
            return time.monotonic() - start
        time.sleep(2)
    return None


def soak(minutes: float, users: int, keep: int, probe_limit: float, slack: float, folder: Path) -> dict[str, Any]:
    from gradio_client import Client, handle_file

    photo = prepare(load_eval(DEFAULT_EVAL), folder)["1920x1080"]
    pool = distinct_photos(photo, POOL_SIZE, folder)
    uploads, sessions = folder / "gradio", folder / "sessions"
    env = {**os.environ, "GRADIO_TEMP_DIR": str(uploads), "ANONYMISER_WORK_DIR": str(sessions),
           "ANONYMISER_KEEP_SECONDS": str(keep)}
    bound = keep + max(1, keep // 4) + slack
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = start_server(port, env)
    try:
        wait_until_up(url, server)
        defaults = ui_inputs(url)
        clients = [Client(url, verbose=False, download_files=str(folder / f"user{u}")) for u in range(users)]
        probe = Client(url, verbose=False, download_files=str(folder / "probe"))
        app_own = frozenset(files(uploads))
        probe.predict(handle_file(str(fresh_photo(photo, 0, folder))), api_name="/detect")  # models loaded
        sampler = RssSampler(server.pid, every=1.0)
        sampler.start()
        bursts: list[Burst] = []
        requests: list[Request] = []
        start = time.monotonic()
        while time.monotonic() - start < minutes * 60:
            index = len(bursts)
            photos = [pool[(index * users + u) % len(pool)] for u in range(users)]
            with ThreadPoolExecutor(users) as workers:
                visits = workers.map(user_round, clients, [defaults] * users, [path for path, _ in photos],
                                     [size for _, size in photos], [folder / f"user{u}" for u in range(users)])
                burst = [request for visit in visits for request in visit]
            requests += burst
            try:
                probe_s = seconds(probe.predict, handle_file(str(fresh_photo(photo, index + 1, folder))),
                                  api_name="/detect")[0]
            except Exception:
                probe_s = float("inf")
            answered = [r[1] for r in burst if r[2] is None] or [float("nan")]
            bursts.append(Burst(index, round((time.monotonic() - start) / 60, 2), len(requests),
                                sum(r[2] is None for r in burst), sum(r[2] is not None for r in burst),
                                round(float(np.percentile(answered, 50)), 1),
                                round(float(np.percentile(answered, 95)), 1), round(max(r[1] for r in burst), 1),
                                round(probe_s, 2), round(rss_mb(server.pid)),
                                round(max(ages(uploads, False, app_own), default=0)),
                                round(max(ages(sessions, True), default=0)), len(ages(sessions, True)),
                                len(files(uploads, app_own) + files(sessions))))
            print(row(bursts[-1]), flush=True)
        drained = wait_for_empty((uploads, sessions), app_own, bound)
        left = [str(p.relative_to(folder)) for p in files(uploads, app_own) + files(sessions)]
        sessions_left = len(ages(sessions, True))
        sampler.stopped.set()
        sampler.join()
        peak = sampler.peak
    finally:
        server.terminate()
        server.wait(timeout=60)
    errors: dict[str, int] = {}
    for endpoint, _, error in requests:
        if error:
            errors[f"{endpoint}: {error}"] = errors.get(f"{endpoint}: {error}", 0) + 1
    by_endpoint = {e: sorted(s for name, s, err in requests if name == e and err is None)
                   for e in ("/photo", "/pick", "/export", "/anonymise")}
    return {"minutes": minutes, "users": users, "keep_seconds": keep, "bound_s": bound, "probe_limit_s": probe_limit,
            "bursts": [asdict(b) for b in bursts], "requests": len(requests), "errors": errors,
            "median_s": {e: round(statistics.median(s), 2) for e, s in by_endpoint.items() if s},
            "rss_slope_kb_per_request": rss_slope_kb(bursts), "peak_rss_mb": round(peak),
            "drained_s": None if drained is None else round(drained), "left": left[:10],
            "sessions_left": sessions_left,
            "app_own_files": len(app_own), "empty_files_left": len(files(uploads, empty=True))}


HEADER = ("| burst | minute | requests so far | answered | failed | p50 s | p95 s | slowest s | fresh /detect s "
          "| RSS MB | oldest upload s | oldest session s | session folders | files |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def row(b: Burst) -> str:
    return (f"| {b.index} | {b.minute} | {b.requests} | {b.answered} | {b.failures} | {b.p50_s} | {b.p95_s} "
            f"| {b.slowest_s} | {b.probe_s} | {b.rss_mb} | {b.oldest_upload_s} | {b.oldest_session_s} "
            f"| {b.sessions} | {b.files} |")


def verdicts(result: dict[str, Any], max_kb: float) -> list[tuple[str, bool, str]]:
    """(check, passed, the figure) for each promise of the soak."""
    bursts = result["bursts"]
    slope = result["rss_slope_kb_per_request"]
    oldest = max((max(b["oldest_upload_s"], b["oldest_session_s"]) for b in bursts), default=0)
    slowest_probe = max((b["probe_s"] for b in bursts), default=float("inf"))
    per_burst = slope * result["requests"] / len(bursts) / 1024 if slope is not None else None
    return [
        (f"at least {MIN_BURSTS} bursts", len(bursts) >= MIN_BURSTS, f"{len(bursts)} bursts"),
        ("every request answered", not result["errors"], f"{result['requests']} requests, "
         f"{sum(result['errors'].values())} failed"),
        (f"fresh /detect within {result['probe_limit_s']:g} s after each burst",
         slowest_probe <= result["probe_limit_s"], f"slowest {slowest_probe} s over {len(bursts)} bursts"),
        (f"memory flat (< {max_kb:g} KB per request, second half)", slope is not None and slope < max_kb,
         "too few bursts to tell" if slope is None else f"{slope:+.1f} KB per request ({per_burst:+.1f} MB per "
         "burst); "
         f"RSS {bursts[0]['rss_mb']} -> {bursts[-1]['rss_mb']} MB, peak {result['peak_rss_mb']} MB"),
        (f"nothing kept beyond {result['bound_s']} s", oldest <= result["bound_s"], f"oldest seen {oldest} s"),
        ("folders empty after the last burst", result["drained_s"] is not None,
         f"after {result['drained_s']} s, {result['sessions_left']} session folders left"
         if result["drained_s"] is not None else f"{result['sessions_left']} session folders left: {result['left']}"),
    ]


def main(argv: list[str] | None = None) -> int:
    first_paragraph = " ".join(__doc__.split("\n\n")[0].split())
    p = argparse.ArgumentParser(prog="python -m benchmarks.run soak", description=first_paragraph)
    p.add_argument("--minutes", type=float, default=30, help="how long the users keep working (default 30)")
    p.add_argument("--users", type=int, default=4, help="concurrent users, 1-16 (default 4)")
    p.add_argument("--keep-seconds", type=int, default=120,
                   help="the app's retention (ANONYMISER_KEEP_SECONDS) for this run (default 120)")
    p.add_argument("--probe-seconds", type=float, default=10, help="limit for the fresh /detect (default 10)")
    p.add_argument("--max-kb-per-request", type=float, default=100, help="RSS slope limit (default 100)")
    p.add_argument("--slack-seconds", type=float, default=30, help="allowed lateness of deletions (default 30)")
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    args = p.parse_args(argv)
    if not 1 <= args.users <= 16 or args.minutes <= 0 or args.keep_seconds < 4:
        raise SystemExit("--users 1-16, --minutes > 0, --keep-seconds >= 4")
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory(prefix="soak-") as folder:
        result = soak(args.minutes, args.users, args.keep_seconds, args.probe_seconds, args.slack_seconds,
                      Path(folder))
    checks = verdicts(result, args.max_kb_per_request)
    print(f"\n{args.users} users, {args.minutes:g} min, retention {args.keep_seconds} s "
          f"({result['app_own_files']} example files of the app not counted; {result['empty_files_left']} empty "
          "temporary files left by Gradio's upload route); median s: "
          + ", ".join(f"{e} {s}" for e, s in result["median_s"].items()))
    print("\n| check | result | figure |\n|---|---|---|")
    for check, passed, figure in checks:
        print(f"| {check} | {'pass' if passed else 'FAIL'} | {figure} |")
    for error, count in sorted(result["errors"].items(), key=lambda item: -item[1])[:5]:
        print(f"  {count} x {error}")
    if args.json:
        args.json.write_text(json.dumps({**result, "checks": checks}, indent=1))
    return 0 if all(passed for _, passed, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
