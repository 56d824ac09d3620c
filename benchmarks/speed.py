"""Speed and memory: each detector and the end-to-end pipeline at three sizes, a toggle re-render, and the CLI.

Every measurement runs in its own process (benchmarks/probe.py), so its cold start and peak RSS are its own.
The test photo is the set's original (not derived) image with the most faces and plates, cropped to each
aspect ratio and resized: 640x480, 1920x1080 and 12 MP (4000x3000, an upscale), saved as JPEG q95.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from benchmarks import deface_compare
from benchmarks.evalset import ROOT, EvalSet, read_rgb
from detectors.registry import load_config

SIZES = {"640x480": (640, 480), "1920x1080": (1920, 1080), "12 MP": (4000, 3000)}
PIPELINES = ("faces,plates", "faces")  # the default kinds (what the targets are about), and faces alone
EXTRA_DETECTORS = ("centerface",)  # the re-identification proxy, measured like the product's detectors
# our CLI's variants (kinds, then options) timed against deface's, alternating, over the whole dev set
VERSUS_DEFACE = ("faces", "faces --jobs 1", "faces,plates", "faces,plates --jobs 1")  # --jobs auto is the default
CLI_IMAGES = 20  # spread over the set: enough for a rate, without another full pass over it
TIMEOUT_S = 600


def speed_photo(evalset: EvalSet) -> dict:
    originals = [r for r in evalset.records if not r.get("derived_from")] or list(evalset.records)
    return max(originals, key=lambda r: sum(o["label"] in ("face", "plate") for o in r["objects"]))


def cover(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Centre crop to the target aspect ratio, then resize to exactly `size` (w, h)."""
    h, w = image.shape[:2]
    tw, th = size
    scale = max(tw / w, th / h)
    cw, ch = round(tw / scale), round(th / scale)
    x, y = (w - cw) // 2, (h - ch) // 2
    crop = image[y:y + ch, x:x + cw]
    interpolation = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    return cv2.resize(crop, size, interpolation=interpolation)


def prepare(evalset: EvalSet, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    source = read_rgb(evalset.path(speed_photo(evalset)))
    paths = {}
    for name, size in SIZES.items():
        path = folder / f"speed_{size[0]}x{size[1]}.jpg"
        Image.fromarray(cover(source, size)).save(path, quality=95)
        paths[name] = path
    return paths


def probe(spec: dict) -> dict:
    done = subprocess.run([sys.executable, "-m", "benchmarks.probe", json.dumps(spec)], cwd=ROOT,
                          capture_output=True, text=True, timeout=TIMEOUT_S)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def detector_names() -> list[str]:
    """The detectors behind the kinds of detectors.toml, plus the proxy (hub detectors are measured elsewhere)."""
    kinds = load_config()["kinds"].values()
    return list(dict.fromkeys([k["detector"] for k in kinds] + list(EXTRA_DETECTORS)))


def cli_rate(folder: Path, out: Path, jobs: int) -> dict:
    """Images per second of `python -m anonymiser FOLDER --jobs N` (default kinds), wall clock incl. start-up."""
    shutil.rmtree(out, ignore_errors=True)
    count = sum(1 for p in folder.iterdir() if p.is_file())
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "anonymiser", str(folder), "--out", str(out), "--jobs", str(jobs),
                           "--no-progress"], cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S)
    wall = time.perf_counter() - start
    return {"jobs": jobs, "images": count, "seconds": wall, "images_per_s": count / wall,
            "exit": done.returncode, "summary": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""}


def run(evalset: EvalSet, out: Path, quick: bool) -> dict:
    work = out / "speed"
    images = prepare(evalset, work / "inputs")
    repeats = {"640x480": 2, "1920x1080": 2, "12 MP": 1} if quick else {"640x480": 7, "1920x1080": 5, "12 MP": 3}
    result: dict = {"photo": speed_photo(evalset)["file"], "repeats": repeats, "detectors": {}, "pipeline": {}}
    for name in detector_names():
        result["detectors"][name] = {}
        for size, path in images.items():
            measured = probe({"what": "detector", "name": name, "image": str(path), "repeats": repeats[size]})
            result["detectors"][name][size] = measured
            if "unavailable" in measured:
                break
        print(f"  speed: {name} done", file=sys.stderr, flush=True)
    for kinds in PIPELINES:
        result["pipeline"][kinds] = {}
        for size, path in images.items():
            toggle = size == "12 MP" and kinds == PIPELINES[0]
            measured = probe({"what": "pipeline", "kinds": kinds, "image": str(path), "repeats": repeats[size],
                              "toggle": toggle})
            result["pipeline"][kinds][size] = measured
            if toggle and "toggle" in measured:
                result["toggle"] = measured["toggle"]
        print(f"  speed: pipeline {kinds} done", file=sys.stderr, flush=True)
    folder = evalset.subset(CLI_IMAGES, work / "cli_subset").linked(work / "cli_inputs")
    result["cli"] = [cli_rate(folder, work / f"cli_out_{jobs}", jobs) for jobs in (1, 2)]
    result["versus_deface"] = deface_compare.versus_deface(evalset, work, VERSUS_DEFACE, 1 if quick else 3)
    return result
