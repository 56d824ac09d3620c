"""Recall of one detector on the dev set, and its median time on a 1920x1080 image.

    .venv/bin/python -m benchmarks.detector_recall ssd_coco --match person=person \
        --cover plate=car,bus,truck,motorcycle,bicycle [--threshold 0.4] [--runs 5]

`--match GT=LABELS`: non-hard ground-truth objects of label GT matched one-to-one at IoU >= 0.5 by a
selected region with one of LABELS. `--cover GT=LABELS`: non-hard GT objects lying (90% of their area)
inside a selected region with one of LABELS, a proxy where the dev set has no boxes for those labels
(vehicles, through their plates). Selected regions with IoU < 0.3 to every GT object of the matched
label (hard ones included) are counted as false positives.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from benchmarks.evalset import DEFAULT_EVAL, gt_boxes, load_eval, read_rgb
from detectors.geometry import inside, iou
from detectors.registry import default_registry


def matched_iou(gt: np.ndarray, boxes: np.ndarray, least: float) -> np.ndarray:
    """Which ground-truth boxes a detection matches at IoU `least` or more: greedy one-to-one, best pairs first."""
    hit = np.zeros(len(gt), dtype=bool)
    if not len(gt) or not len(boxes):
        return hit
    overlaps = iou(gt, boxes)
    gi, bi = np.nonzero(overlaps >= least)
    used = np.zeros(len(boxes), dtype=bool)
    for k in np.argsort(-overlaps[gi, bi], kind="stable"):
        if not hit[gi[k]] and not used[bi[k]]:
            hit[gi[k]] = used[bi[k]] = True
    return hit


def covered(gt: np.ndarray, boxes: np.ndarray, share: float = 0.9) -> np.ndarray:
    """Which ground-truth boxes lie (`share` of their area) inside one of `boxes`."""
    if not len(gt) or not len(boxes):
        return np.zeros(len(gt), dtype=bool)
    return (inside(gt, boxes) >= share).any(1)


def parse_pairs(items: list[str]) -> dict[str, tuple[str, ...]]:
    return {gt: tuple(labels.split(",")) for gt, labels in (item.split("=", 1) for item in items)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("detector")
    p.add_argument("--match", nargs="*", default=[], metavar="GT=LABELS")
    p.add_argument("--cover", nargs="*", default=[], metavar="GT=LABELS")
    p.add_argument("--threshold", type=float, help="default: the detector's configured threshold")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--timing-image", default="der_paste_d1.png", help="a 1920x1080 dev image")
    args = p.parse_args(argv)
    registry = default_registry()
    detector = registry.get(args.detector)
    threshold = args.threshold if args.threshold is not None else registry.settings(args.detector)["threshold"]
    checks = [("recall", gt, labels) for gt, labels in parse_pairs(args.match).items()]
    checks += [("covered", gt, labels) for gt, labels in parse_pairs(args.cover).items()]
    counts = {(kind, gt): [0, 0] for kind, gt, _ in checks}
    false_positives = 0
    evalset = load_eval(DEFAULT_EVAL)
    for record in evalset.records:
        found = detector.detect(read_rgb(evalset.path(record)), threshold)
        found = found[detector.accepts(found, threshold)]
        for kind, gt_label, labels in checks:
            mine = found[np.isin(found.labels.astype(str), labels)]
            gt, hard = gt_boxes(record, gt_label)
            hit = matched_iou(gt, mine.boxes, 0.5) if kind == "recall" else covered(gt, mine.boxes)
            counts[kind, gt_label][0] += int((hit & ~hard).sum())
            counts[kind, gt_label][1] += int((~hard).sum())
            if kind == "recall" and len(mine):
                near = iou(mine.boxes, gt).max(1) if len(gt) else np.zeros(len(mine))
                false_positives += int((near < 0.3).sum())
    for (kind, gt_label), (hit, total) in counts.items():
        print(f"{gt_label} {kind:<10}{hit:>5}/{total:<5}{hit / max(total, 1):>8.1%}")
    print(f"false positives {false_positives} (selected regions with IoU < 0.3 to every GT object of the label)")
    image = read_rgb(evalset.images / args.timing_image)
    times = []
    for _ in range(args.runs + 1):
        start = time.perf_counter()
        detector.detect(image, threshold)
        times.append((time.perf_counter() - start) * 1000)
    print(f"median time on {args.timing_image} ({image.shape[1]}x{image.shape[0]}): "
          f"{statistics.median(times[1:]):.0f} ms over {args.runs} runs (first run {times[0]:.0f} ms not counted)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
