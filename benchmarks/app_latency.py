"""The app's four figures, measured through its API on a server this script starts (loopback, a free port):

    .venv/bin/python -m benchmarks.app_latency [--runs 5] [--users 4]

- cold start: `python app.py` spawned -> first /detect answer on the 1920x1080 photo (warm-up included);
- detect: /detect on a 1920x1080 photo (default kinds faces,plates), median of --runs;
- toggle: one 12 MP photo opened in a session (UI endpoint /photo), then the region list changed (/pick),
  which re-renders the preview from cached detections; median of --runs;
- memory: --users concurrent users, each its own session: /photo on a 12 MP photo, three toggles, /export
  (full-size render, PNG/JPEG encode, privacy check); peak RSS of the server sampled every 0.1 s, and VmHWM.

Photos are benchmarks.speed's (a real photo of the evaluation set, cropped and resized).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from benchmarks.common import RssSampler, free_port, peak_rss_mb, seconds, ui_inputs
from benchmarks.evalset import DEFAULT_EVAL, load_eval
from benchmarks.load_test import distinct_photos
from benchmarks.speed import prepare

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 600


def start_server(port: int, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`python app.py` on `port` (loopback), with `env` as its whole environment when given."""
    return subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--no-downloads"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_until_up(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the app exited with code {server.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the app did not answer within {START_TIMEOUT_S} s")


def open_photo(client, defaults: dict[str, list], photo: Path) -> list[str]:
    """Opens the photo in this client's session; returns the ids of the regions on."""
    from gradio_client import handle_file

    outputs = client.predict(handle_file(str(photo)), *defaults["photo"][1:], api_name="/photo")
    regions = outputs[3]  # status, review picture, slider, region list (an update: choices, ids on), ...
    return list(regions["value"] if isinstance(regions, dict) else regions)


def toggles(client, defaults: dict[str, list], on: list[str], count: int) -> list[float]:
    """`count` list changes, alternately turning the first region off and on again."""
    times = []
    for i in range(count):
        took, _ = seconds(client.predict, on[1:] if i % 2 == 0 else on, *defaults["pick"][1:], api_name="/pick")
        times.append(took)
    return times


def user(url: str, defaults: dict[str, list], photo: Path, times: dict[str, list[float]],
         lock: threading.Lock) -> None:
    from gradio_client import Client

    client = Client(url, verbose=False)
    opened, on = seconds(open_photo, client, defaults, photo)
    toggled = toggles(client, defaults, on, 3)
    exported, _ = seconds(client.predict, *defaults["export"], api_name="/export")
    with lock:
        times["open"].append(opened)
        times["toggle"].extend(toggled)
        times["export"].append(exported)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--users", type=int, default=4)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="app-latency-") as folder:
        photos = prepare(load_eval(DEFAULT_EVAL), Path(folder))
        hd = distinct_photos(photos["1920x1080"], args.runs + 1, Path(folder))
        return measure([path for path, _ in hd], photos["12 MP"], args.runs, args.users)


def measure(hd: list[Path], twelve: Path, runs: int, users: int) -> int:
    """`hd`: runs + 1 photos of distinct bytes (the first for the cold start), so /detect never answers from
    the app's detection cache."""
    from gradio_client import Client, handle_file

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    start = time.perf_counter()
    server = start_server(port)
    try:
        wait_until_up(url, server)
        client = Client(url, verbose=False)
        client.predict(handle_file(str(hd[0])), api_name="/detect")
        cold = time.perf_counter() - start
        answers = [seconds(client.predict, handle_file(str(path)), api_name="/detect") for path in hd[1:runs + 1]]
        detect = [took for took, _ in answers]
        detectors = {name: statistics.median(a["timings_ms"][name] for _, a in answers)
                     for name in answers[0][1]["timings_ms"]}
        defaults = ui_inputs(url)
        on = open_photo(client, defaults, twelve)
        toggle = toggles(client, defaults, on, runs)

        sampler = RssSampler(server.pid)
        sampler.start()
        times: dict[str, list[float]] = {"open": [], "toggle": [], "export": []}
        lock = threading.Lock()
        threads = [threading.Thread(target=user, args=(url, defaults, twelve, times, lock)) for _ in range(users)]
        wall = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - wall
        sampler.stopped.set()
        sampler.join()
        hwm = peak_rss_mb(server.pid) or 0
    finally:
        server.terminate()
        server.wait(timeout=60)

    print("| figure | value | how |")
    print("|---|---|---|")
    print(f"| cold start to first answer | {cold:.1f} s | spawn `python app.py` -> first /detect, 1920x1080 |")
    print(f"| detect latency, 1920x1080 | {statistics.median(detect):.2f} s median "
          f"({min(detect):.2f}-{max(detect):.2f}) | /detect, faces+plates, {runs} runs; inside: "
          + ", ".join(f"{name} {ms / 1000:.2f} s" for name, ms in detectors.items()) + " |")
    print(f"| toggle re-render, 12 MP | {statistics.median(toggle) * 1000:.0f} ms median "
          f"({min(toggle) * 1000:.0f}-{max(toggle) * 1000:.0f}) | /pick after /photo, {runs} runs |")
    print(f"| peak RSS, {users} users on 12 MP | {sampler.peak:.0f} MB sampled, VmHWM {hwm:.0f} MB "
          f"(idle {sampler.start_mb:.0f} MB) | /photo + 3 /pick + /export each, {wall:.0f} s wall |")
    for name, values in times.items():
        print(f"| {users} users: {name} | {statistics.median(values):.1f} s median, max {max(values):.1f} s | "
              f"{len(values)} calls |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
