"""Load test of a running app: concurrent API users, each calling /detect then /anonymise on a 12 MP photo.

Bounded in count and time, loopback only: at most MAX_USERS users, `--rounds` each, and every request not
answered within `--max-seconds` of the start counts as a failure (and is cancelled). The full-size test:

    .venv/bin/python app.py --port 7860 &  APP=$!
    .venv/bin/python -m benchmarks.load_test http://127.0.0.1:7860/ --users 16 --rounds 1 --pid $APP

It prints requests, failures, p50/p95/max latency per endpoint and the server's peak RSS (sampled from /proc
for the PID and its children, and the kernel's high-water mark VmHWM). Each user is its own Client, so its
own session and its own photo (the photo narrowed by a few pixels per user, so no user is answered from the
app's detection cache with another user's photo); every answer is checked (regions JSON; an image of that
photo's size and a report).
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
from PIL import Image

from benchmarks.common import RssSampler, peak_rss_mb

MAX_USERS = 64
ENDPOINTS = ("/detect", "/anonymise")


def require_loopback(url: str) -> None:
    """Refuse anything but this machine: a load test must not be pointed at someone else's server."""
    host = urlparse(url).hostname
    if not host:
        raise SystemExit(f"not a URL: {url}")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as exc:
        raise SystemExit(f"cannot resolve {host}: {exc}") from None
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise SystemExit(f"{url} is not a loopback address ({', '.join(sorted(addresses))}); refusing to load it")


def check_answer(endpoint: str, answer: Any, size: tuple[int, int]) -> None:
    """Raise if the answer is not what the contract promises."""
    if endpoint == "/detect":
        if not isinstance(answer, dict) or not isinstance(answer.get("regions"), list):
            raise ValueError(f"/detect gave {type(answer).__name__}, not a dict with regions")
        return
    path, report = answer
    with Image.open(path) as im:
        if im.size != size:
            raise ValueError(f"/anonymise gave a {im.size} image for a {size} photo")
    if not isinstance(report, dict) or "regions" not in report:
        raise ValueError("/anonymise gave no report")


def user(url: str, photo: Path, size: tuple[int, int], rounds: int, deadline: float, downloads: Path,
         results: list[dict[str, Any]], lock: threading.Lock) -> None:
    from gradio_client import Client, handle_file

    def record(endpoint: str, seconds: float, error: str | None) -> None:
        with lock:
            results.append({"endpoint": endpoint, "seconds": seconds, "error": error})

    try:
        client = Client(url, verbose=False, analytics_enabled=False, download_files=str(downloads))
    except Exception as exc:  # a refused connection is a failure of every request this user would have made
        for _ in range(rounds):
            for endpoint in ENDPOINTS:
                record(endpoint, 0.0, f"connect: {type(exc).__name__}: {exc}")
        return
    for _ in range(rounds):
        for endpoint in ENDPOINTS:
            start = time.monotonic()
            if start >= deadline:
                record(endpoint, 0.0, "not started: time limit reached")
                continue
            job = client.submit(handle_file(str(photo)), api_name=endpoint)
            try:
                answer = job.result(timeout=deadline - start)
                check_answer(endpoint, answer, size)
                error = None
            except TimeoutError:
                job.cancel()
                error = "timed out"
            except Exception as exc:
                error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
            record(endpoint, time.monotonic() - start, error)


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    rows = {}
    for endpoint in (*ENDPOINTS, "all"):
        mine = [r for r in results if endpoint in ("all", r["endpoint"])]
        ok = np.array([r["seconds"] for r in mine if r["error"] is None])
        rows[endpoint] = {"requests": len(mine), "failures": sum(r["error"] is not None for r in mine),
                          **({"p50_s": round(float(np.percentile(ok, 50)), 2),
                              "p95_s": round(float(np.percentile(ok, 95)), 2),
                              "max_s": round(float(ok.max()), 2)} if len(ok) else {})}
    errors = Counter(r["error"] for r in results if r["error"] is not None)
    return {"endpoints": rows, "errors": dict(errors.most_common(5))}


def distinct_photos(photo: Path, count: int, folder: Path) -> list[tuple[Path, tuple[int, int]]]:
    """`count` photos of distinct bytes, so none is answered from the app's detection cache: `photo` with its
    `i` rightmost columns cut (the first is `photo` itself)."""
    with Image.open(photo) as im:
        photos = [(photo, im.size)]
        for i in range(1, count):
            variant = folder / f"{photo.stem}-{i}.jpg"
            cut = im.crop((0, 0, im.width - i, im.height))
            cut.convert("RGB").save(variant, quality=92)
            photos.append((variant, cut.size))
    return photos


def run_load(url: str, photo: Path, users: int, rounds: int = 1, max_seconds: float = 600,
             pid: int | None = None) -> dict[str, Any]:
    """Run the test and return its figures (see `summarise`), plus wall time and the server's memory."""
    require_loopback(url)
    if not 1 <= users <= MAX_USERS:
        raise SystemExit(f"--users must be 1-{MAX_USERS}")
    sampler = RssSampler(pid) if pid else None
    if sampler:
        sampler.start()
    results: list[dict[str, Any]] = []
    lock = threading.Lock()
    with tempfile.TemporaryDirectory(prefix="load-test-") as folder:
        photos = distinct_photos(photo, users, Path(folder))
        start = time.monotonic()
        threads = [threading.Thread(target=user, args=(url, path, size, rounds, start + max_seconds,
                                                       Path(folder) / str(i), results, lock))
                   for i, (path, size) in enumerate(photos)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    with Image.open(photo) as im:
        size = im.size
    figures = {"url": url, "photo": photo.name, "size": list(size), "users": users, "rounds": rounds,
               "wall_s": round(time.monotonic() - start, 1), **summarise(results)}
    if sampler:
        sampler.stopped.set()
        sampler.join()
        figures |= {"server_rss_before_mb": round(sampler.start_mb), "server_peak_rss_mb": round(sampler.peak),
                    "server_vmhwm_mb": round(peak_rss_mb(pid) or 0)}
    return figures


def default_photo(folder: Path) -> Path:
    """The speed benchmark's 12 MP photo (4000x3000, from the evaluation set's busiest original image)."""
    from benchmarks.evalset import DEFAULT_EVAL, load_eval
    from benchmarks.speed import prepare

    return prepare(load_eval(DEFAULT_EVAL), folder)["12 MP"]


def print_figures(figures: dict[str, Any]) -> None:
    print(f"{figures['users']} users x {figures['rounds']} round(s) of /detect + /anonymise on "
          f"{figures['photo']} ({figures['size'][0]}x{figures['size'][1]}), {figures['wall_s']} s")
    print(f"{'endpoint':<12}{'requests':>9}{'failures':>9}{'p50 s':>8}{'p95 s':>8}{'max s':>8}")
    for endpoint, row in figures["endpoints"].items():
        print(f"{endpoint:<12}{row['requests']:>9}{row['failures']:>9}{row.get('p50_s', '-'):>8}"
              f"{row.get('p95_s', '-'):>8}{row.get('max_s', '-'):>8}")
    for error, count in figures["errors"].items():
        print(f"  {count} x {error}")
    if "server_peak_rss_mb" in figures:
        print(f"server RSS: {figures['server_rss_before_mb']} MB before, peak {figures['server_peak_rss_mb']} MB "
              f"sampled (with children), VmHWM {figures['server_vmhwm_mb']} MB")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.load_test", description=__doc__.splitlines()[0])
    p.add_argument("url", help="the running app, e.g. http://127.0.0.1:7860/ (loopback only)")
    p.add_argument("--users", type=int, default=16, help=f"concurrent users, 1-{MAX_USERS} (default 16)")
    p.add_argument("--rounds", type=int, default=1,
                   help="/detect + /anonymise pairs per user (default 1); later rounds re-send the user's photo, "
                        "so the app's detection cache answers their /detect")
    p.add_argument("--max-seconds", type=float, default=900, help="requests unanswered by then fail (default 900)")
    p.add_argument("--photo", type=Path, help="the photo to send (default: a 12 MP photo from the eval set)")
    p.add_argument("--pid", type=int, help="the server's process id, to report its peak memory")
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    args = p.parse_args(argv)
    require_loopback(args.url)  # before the photo is made
    with tempfile.TemporaryDirectory(prefix="load-photo-") as folder:
        photo = args.photo or default_photo(Path(folder))
        figures = run_load(args.url, photo, args.users, args.rounds, args.max_seconds, args.pid)
    print_figures(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 1 if figures["endpoints"]["all"]["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
