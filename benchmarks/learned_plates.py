"""`python -m benchmarks.run learned-plates`: what a learned plate detector adds to today's plate candidates.

On every plate of the dev set (hard ones included), by plate width: the share found by each learned detector
(`--detectors`) alone at `--conf` for each `--sides` setting (one pass per long side), by today's candidates
(`Plates.candidates`, before the verifier), and by their unions. A box finds a plate when their IoU is at least
0.3 or 70% of the plate lies inside it (`fit_plates.covered`). Also the learned boxes that lie on no labelled
plate (false candidates: IoU < 0.1 with every plate and less than half of the box on one), per photo, and each
setting's median time on the 1920x1080 speed photo.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import fit_plates
from benchmarks.evalset import DEFAULT_EVAL, ROOT, EvalSet, gt_boxes, load_eval, read_rgb
from benchmarks.speed import cover, speed_photo
from benchmarks.tables import share, table
from detectors.registry import Detector, Registry, load_config


def learned(name: str, sides: tuple[int, ...]) -> Detector:
    """Detector `name` with these `sides` and no suggestion band, so `detect(image, conf)` returns scores >= conf."""
    config = load_config()
    config["detectors"][name] |= {"sides": list(sides), "suggest": 1.0}
    return Registry(config).get(name)


def found_by(evalset: EvalSet, boxes: dict[str, np.ndarray]) -> np.ndarray:
    """Which plates of the set (in record order) one source's boxes find."""
    return np.concatenate([fit_plates.covered(gt_boxes(r, "plate")[0], boxes[r["file"]]) for r in evalset.records])


def recall_table(evalset: EvalSet, sources: dict[str, np.ndarray]) -> str:
    """One row per source: plates found per width bucket (all plates), then all of them and the hard ones."""
    plates = [o for r in evalset.records for o in r["objects"] if o["label"] == "plate"]
    widths = np.array([o["box"][2] - o["box"][0] for o in plates])
    groups = {name: np.array([fit_plates.bucket(w) == name for w in widths]) for *_, name in fit_plates.BUCKETS}
    groups |= {"all": np.ones(len(plates), bool), "hard": np.array([bool(o.get("hard")) for o in plates])}
    rows = [[source, *(share(int(hit[mask].sum()), int(mask.sum())) for mask in groups.values())]
            for source, hit in sources.items()]
    return table(["candidates from", *groups], rows)


def false_candidates(evalset: EvalSet, boxes: dict[str, np.ndarray]) -> tuple[int, float, tuple[str, int]]:
    """Learned boxes on no labelled plate: in all, per photo, and the photo with most."""
    counts = {r["file"]: int((~fit_plates.covered_any(boxes[r["file"]], gt_boxes(r, "plate")[0])).sum())
              for r in evalset.records}
    worst = max(counts.items(), key=lambda item: item[1])
    return sum(counts.values()), sum(counts.values()) / len(counts), worst


def latency_ms(detector: Detector, image: np.ndarray, conf: float, repeats: int) -> float:
    detector.detect(image, conf)  # warm-up: session and first-call allocations
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        detector.detect(image, conf)
        times.append(time.perf_counter() - started)
    return round(1000 * float(np.median(times)), 1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run learned-plates", description=__doc__.splitlines()[0])
    p.add_argument("--eval", type=Path, default=DEFAULT_EVAL)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    p.add_argument("--detectors", nargs="+", default=["platedet", "pyplatex"],
                   help="learned plate detectors of detectors.toml")
    p.add_argument("--conf", type=float, default=0.1, help="the learned detector's score down to which boxes count")
    p.add_argument("--sides", nargs="+", default=["640", "1280", "640,1280"],
                   help="learned settings to compare: long sides of the passes, comma-separated per setting")
    p.add_argument("--cache", type=Path, help="today's plate candidates read from / saved to this file (fit_plates)")
    p.add_argument("--repeats", type=int, default=5, help="timing runs per setting (the median is reported)")
    p.add_argument("--no-latency", action="store_true")
    args = p.parse_args(argv)
    evalset = load_eval(args.eval)
    detectors = {f"{name} {s.replace(',', '+')}": learned(name, tuple(int(v) for v in s.split(",")))
                 for name in args.detectors for s in args.sides}
    images = {r["file"]: read_rgb(evalset.path(r)) for r in evalset.records}
    boxes = {label: {f: d.detect(im, args.conf).boxes for f, im in images.items()} for label, d in detectors.items()}
    today = {c.file: c.boxes for c in fit_plates.collect(evalset, args.cache)}
    sources = {label: found_by(evalset, b) for label, b in boxes.items()}
    sources["today's candidates"] = found_by(evalset, today)
    for label in detectors:
        sources[f"today + {label}"] = sources["today's candidates"] | sources[label]
    sources["today + every setting above"] = np.logical_or.reduce(list(sources.values()))
    print(f"## Plates found as candidates on the dev set (learned detectors at conf {args.conf}; found = IoU >= 0.3 "
          f"or 70% of the plate inside a box)\n\n{recall_table(evalset, sources)}\n")
    result: dict = {"conf": args.conf, "found": {k: int(v.sum()) for k, v in sources.items()}, "false": {}}
    rows = []
    for label, found in boxes.items():
        total, per_photo, worst = false_candidates(evalset, found)
        result["false"][label] = {"total": total, "per_photo": per_photo, "worst": worst}
        rows.append([label, sum(len(b) for b in found.values()), total, f"{per_photo:.2f}", f"{worst[1]} ({worst[0]})"])
    print(table(["learned setting", "boxes", "on no plate", "per photo", "most on one photo"], rows))
    if not args.no_latency:
        image = cover(read_rgb(evalset.path(speed_photo(evalset))), (1920, 1080))
        result["latency_ms"] = {label: latency_ms(d, image, args.conf, args.repeats) for label, d in detectors.items()}
        print(f"\nmedian ms per 1920x1080 photo ({args.repeats} runs; a shared machine, compare the settings with each "
              f"other rather than with other runs): {result['latency_ms']}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "learned_plates.json").write_text(json.dumps(result, indent=1))
    print(f"\nsaved {args.out / 'learned_plates.json'}", file=sys.stderr)
    return 0
