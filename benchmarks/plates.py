"""`python -m benchmarks.run plates`: the plate detector on the dev set, out-of-fold, and its latency.

Prints, per plate-width bucket (hard plates apart): plates, found among the candidates, verified by the
out-of-fold verifier, and leaked in the out-of-fold renders as `score.py` judges them; the over-anonymisation
of those renders over all photos and on the worst photo (plates alone: faces are not drawn, so a photo's
share is of the plates' fills only); a reliability table and diagram (OUT/plates_reliability.png: predicted
probability against the share of candidates that are plates); and the plate stage's median latency on the
speed photo at 1920x1080, split into its parts.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from benchmarks import fit_plates
from benchmarks.evalset import DEFAULT_EVAL, ROOT, EvalSet, load_eval, load_scorer, read_rgb
from benchmarks.fitting import weights_line
from benchmarks.speed import cover, speed_photo
from detectors.registry import load_config


def leaks(evalset: EvalSet, rendered: Path) -> tuple[dict[str, int], float, tuple[str, float]]:
    """Leaked plates by bucket, the over-anonymisation over all photos, and the worst photo's."""
    scorer = load_scorer(evalset.root)
    result = scorer.score(evalset.annotations, evalset.images, rendered, {"plate"})
    leaked: dict[str, int] = {}
    for row in result["objects"]:
        key = "hard" if row["hard"] else fit_plates.bucket(row["width"])
        leaked[key] = leaked.get(key, 0) + int(row["leaked"])
    worst = ("", 0.0)
    with tempfile.TemporaryDirectory() as tmp:
        for record in evalset.records:
            one = Path(tmp) / "one.json"
            one.write_text(json.dumps({"version": 1, "images": [record]}))
            share = scorer.score(one, evalset.images, rendered, {"plate"})["over_anonymisation"]
            worst = max(worst, (record["file"], share), key=lambda t: t[1])
    return leaked, result["over_anonymisation"], worst


def diagram(rows: list[dict], path: Path, side: int = 400, margin: int = 40) -> None:
    """Reliability diagram: one dot per bin (area ~ candidates), the diagonal is perfect calibration."""
    image = Image.new("RGB", (side + 2 * margin, side + 2 * margin), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([margin, margin, margin + side, margin + side], outline="black")
    draw.line([margin, margin + side, margin + side, margin], fill="grey")
    for k in range(11):
        x = margin + side * k / 10
        draw.text((x - 8, margin + side + 5), f"{k / 10:.1f}", fill="black")
        draw.text((5, margin + side - side * k / 10 - 5), f"{k / 10:.1f}", fill="black")
    draw.text((margin, 10), "out-of-fold: predicted P(plate) (x) vs share that are plates (y)", fill="black")
    for row in rows:
        x = margin + side * row["predicted"]
        y = margin + side * (1 - row["plates"])
        r = 3 + 2 * np.log2(1 + row["n"])
        draw.ellipse([x - r, y - r, x + r, y + r], outline="blue", width=2)
    image.save(path)


def latency(evalset: EvalSet, repeats: int) -> dict[str, float]:
    """Median ms of the plate stage and its parts on the speed photo at 1920x1080."""
    from detectors.registry import default_registry

    image = cover(read_rgb(evalset.path(speed_photo(evalset))), (1920, 1080))
    plates = default_registry().get("plates")
    threshold = load_config()["detectors"]["plates"]["threshold"]
    plates.detect(image, threshold)  # warm-up: sessions and first-call allocations
    times: dict[str, list[float]] = {"plate stage": [], "vehicles": [], "reader": []}
    for _ in range(repeats):
        started = time.perf_counter()
        found = plates.detect(image, threshold)
        times["plate stage"].append(time.perf_counter() - started)
        started = time.perf_counter()
        plates.examined_vehicles(image)
        times["vehicles"].append(time.perf_counter() - started)
        boxes = found.boxes if len(found) else np.array([[0, 0, 60, 20]], np.float32)
        started = time.perf_counter()
        plates.reader.read(image, boxes)
        times["reader"].append(time.perf_counter() - started)
    return {k: round(1000 * float(np.median(v)), 1) for k, v in times.items()}


def table(report: dict, leaked: dict[str, int]) -> str:
    lines = ["| plate width | plates | candidates found | verified (selected) | leaked (score.py) |",
             "|---|---|---|---|---|"]
    for name, row in report["by_width"].items():
        lines.append(f"| {name} | {row['plates']} | {row['candidates']} | {row['verified']} | {leaked.get(name, 0)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run plates", description=__doc__.splitlines()[0])
    p.add_argument("--eval", type=Path, default=DEFAULT_EVAL)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    p.add_argument("--cache", type=Path, help="plate candidates read from / saved to this file (fit_plates)")
    p.add_argument("--repeats", type=int, default=5, help="latency runs (the median is reported)")
    p.add_argument("--no-latency", action="store_true")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    evalset = load_eval(args.eval)
    threshold = load_config()["detectors"]["plates"]["threshold"]
    cands = fit_plates.collect(evalset, args.cache)
    model, report, oof = fit_plates.fitted_report(evalset, cands, threshold)
    rendered = args.out / "plates_out_of_fold"
    fit_plates.render(evalset, cands, oof, threshold, rendered)
    leaked, over, worst = leaks(evalset, rendered)
    at = next(r for r in report["out_of_fold"] if r["threshold"] == threshold)
    print(f"## Plates on the dev set, out-of-fold (threshold {threshold})\n\n{table(at, leaked)}\n")
    print(f"false regions selected: {at['false_regions']}; over-anonymisation (plates alone) {100 * over:.1f}%, "
          f"worst photo {worst[0]} {100 * worst[1]:.1f}%; log loss out-of-fold {report['log_loss_out_of_fold']}")
    print("\n| predicted | candidates | share that are plates |\n|---|---|---|")
    for row in report["reliability_out_of_fold"]:
        low, high = row["bin"]
        print(f"| {low:.1f}-{high:.1f} (mean {row['predicted']:.2f}) | {row['n']} | {row['plates']:.2f} |")
    diagram(report["reliability_out_of_fold"], args.out / "plates_reliability.png")
    print(f"\nreliability diagram: {args.out / 'plates_reliability.png'}")
    print(weights_line(model))
    result = {"threshold": threshold, "by_width": at["by_width"], "leaked": leaked, "over_anonymisation": over,
              "worst_photo": worst, "fitted": report}
    if not args.no_latency:
        result["latency_ms"] = latency(evalset, args.repeats)
        print("\nlatency on the 1920x1080 speed photo (median ms):", result["latency_ms"])
    (args.out / "plates.json").write_text(json.dumps(result, indent=1))
    return 0
