"""Refit the plate verifier (`detectors/plate_verifier.json`) and report it out-of-fold.

    python -m benchmarks.fit_plates [--eval ../shared/eval] [--cache FILE] [--render OUT] [--write]

The plate detector's candidates on every dev photo (before verification) are labelled plate when they overlap
an annotated plate (hard ones and painted registration numbers included) with IoU >= MATCH_IOU; on each plate
only its best candidate is fitted, and candidates touching a plate without matching it are left out (a line of
a two-line plate is neither a plate nor a false region). A logistic regression on
`detectors.plate_verifier.FEATURES` is fitted once per photo, leaving out that photo and its derived copies
(`benchmarks.fitting.relatives`), so each photo's figures come from a model that never saw it. `--render`
writes each photo's out-of-fold plates, anonymised with the default style, as PNGs that `score.py` scores
like the CLI's outputs; `--write` stores the model fitted on all photos, with its figures, in the JSON file.
"""
from __future__ import annotations

import argparse
import math
import pickle
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks import fitting
from benchmarks.evalset import EvalSet, gt_boxes, load_eval, read_rgb
from detectors import plate_verifier
from detectors.geometry import inside, iou
from detectors.regions import Regions
from detectors.registry import load_config

MATCH_IOU = 0.3
BUCKETS = ((0, 20, "<20 px"), (20, 40, "20-40 px"), (40, 80, "40-80 px"), (80, math.inf, ">80 px"))
EXAMPLES = ("litealpr_Hung_0060.png", "litealpr_wild05.png", "ocv_scenetext06.jpg")  # what the test reproduces


@dataclass
class Candidates:
    file: str
    boxes: np.ndarray
    evidence: plate_verifier.Evidence
    plate: np.ndarray  # bool: matches an annotated plate
    fitted: np.ndarray  # bool: used in the fit

    @property
    def features(self) -> np.ndarray:
        return self.evidence.features()

    @property
    def truth(self) -> np.ndarray:
        return self.plate


def collect(evalset: EvalSet, cache: Path | None = None, learned: Sequence[str] = ()) -> list[Candidates]:
    """Candidates and their evidence on every photo (read from `cache` when it exists, written to it otherwise:
    a local file of the dev set's readings, kept under the gitignored results folder)."""
    if cache and cache.is_file():  # stored as fields: the class is `__main__.Candidates` under `python -m`
        return [Candidates(*fields) for fields in pickle.loads(cache.read_bytes())]
    model = fitting.uncalibrated("plates", learned=list(learned))
    out = []
    for record in evalset.records:
        found, evidence = model.candidates(read_rgb(evalset.path(record)))
        truth, _ = gt_boxes(record, "plate")
        out.append(Candidates(record["file"], found.boxes, evidence, *labels(found.boxes, truth)))
        print(f"  {record['file']}: {len(found)} candidates, {int(out[-1].plate.sum())} on plates", file=sys.stderr)
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps([(c.file, c.boxes, c.evidence, c.plate, c.fitted) for c in out]))
    return out


def labels(boxes: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which candidates match a plate, and which are fitted: each plate's best match, and every candidate
    that neither matches nor touches a plate (touching: 30% of the candidate lies on a plate, or the reverse)."""
    if not len(truth) or not len(boxes):
        return np.zeros(len(boxes), bool), np.ones(len(boxes), bool)
    overlap = iou(boxes, truth)
    plate = (overlap >= MATCH_IOU).any(axis=1)
    touching = ((inside(boxes, truth) >= 0.3) | (inside(truth, boxes).T >= 0.3)).any(axis=1)
    fitted = ~plate & ~touching
    for j in range(len(truth)):
        if overlap[:, j].max() >= MATCH_IOU:
            fitted[np.argmax(overlap[:, j])] = True
    return plate, fitted


def selected(c: Candidates, scores: np.ndarray, threshold: float) -> np.ndarray:
    """Boxes kept at `threshold`, overlaps suppressed as the detector does."""
    from detectors.plates import distinct

    found = Regions.create(c.boxes, scores, "plate", "plates")
    found = found[found.scores >= threshold]
    return distinct(found).boxes


def bucket(width: float) -> str:
    return next(name for lo, hi, name in BUCKETS if lo <= width < hi)


def covered(truth: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Plates a set of boxes finds: IoU >= MATCH_IOU with one, or 70% of the plate inside one."""
    if not len(truth) or not len(boxes):
        return np.zeros(len(truth), bool)
    return (iou(truth, boxes) >= MATCH_IOU).any(axis=1) | (inside(truth, boxes) >= 0.7).any(axis=1)


def figures(evalset: EvalSet, cands: list[Candidates], scores: list[np.ndarray], threshold: float) -> dict:
    """Per plate-width bucket (hard plates apart): plates, found among the candidates, verified at
    `threshold`; and the false regions selected."""
    rows: dict[str, dict[str, int]] = {}
    false = 0
    for record, c, s in zip(evalset.records, cands, scores, strict=True):
        truth, hard = gt_boxes(record, "plate")
        chosen = selected(c, s, threshold)
        false += int((~covered_any(chosen, truth)).sum())
        for box, h, cand, ver in zip(truth, hard, covered(truth, c.boxes), covered(truth, chosen), strict=True):
            row = rows.setdefault("hard" if h else bucket(box[2] - box[0]), {"plates": 0, "candidates": 0,
                                                                               "verified": 0})
            row["plates"] += 1
            row["candidates"] += int(cand)
            row["verified"] += int(ver)
    order = [name for *_, name in BUCKETS] + ["hard"]
    return {"threshold": threshold, "by_width": {k: rows[k] for k in order if k in rows}, "false_regions": false}


def covered_any(boxes: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Which selected boxes lie on a plate (IoU >= 0.1, or half of the box on one)."""
    if not len(truth) or not len(boxes):
        return np.zeros(len(boxes), bool)
    return (iou(boxes, truth) >= 0.1).any(axis=1) | (inside(boxes, truth) >= 0.5).any(axis=1)


def reliability(cands: list[Candidates], scores: list[np.ndarray], bins: int = 10) -> list[dict]:
    """Out-of-fold predicted probability against the share of fitted candidates that are plates, per bin."""
    p = np.concatenate([s[c.fitted] for s, c in zip(scores, cands, strict=True)])
    y = np.concatenate([c.plate[c.fitted] for c in cands])
    rows = []
    for k in range(bins):
        inbin = (p >= k / bins) & ((p < (k + 1) / bins) | (k == bins - 1))
        if inbin.any():
            rows.append({"bin": [k / bins, (k + 1) / bins], "n": int(inbin.sum()),
                         "predicted": round(float(p[inbin].mean()), 3), "plates": round(float(y[inbin].mean()), 3)})
    return rows


def fitted_report(evalset: EvalSet, cands: list[Candidates], threshold: float) -> tuple[object, dict, list]:
    """The model fitted on all photos, its figures, and the out-of-fold scores."""
    oof = fitting.out_of_fold(cands, fitting.relatives(evalset.records), plate_verifier.fit)
    x, y = fitting.stacked(cands, [True] * len(cands))
    model = plate_verifier.fit(x, y)
    held_out = np.concatenate([s[c.fitted] for s, c in zip(oof, cands, strict=True)])
    report = {
        "candidates": len(y), "on_plates": int(y.sum()), "photos": len(cands), "l2": fitting.L2,
        "match_iou": MATCH_IOU,
        "log_loss_in_sample": round(fitting.log_loss(model.probability(x), y), 4),
        "log_loss_out_of_fold": round(fitting.log_loss(held_out, y), 4),
        "out_of_fold": [figures(evalset, cands, oof, t) for t in sorted({0.3, 0.5, 0.7, threshold})],
        "reliability_out_of_fold": reliability(cands, oof),
        "examples": fitting.examples(model, cands, EXAMPLES, threshold),
    }
    return model, report, oof


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = fitting.arguments("benchmarks.fit_plates", __doc__)
    p.add_argument("--cache", type=Path, help="candidates are read from this file if it exists, else saved to it")
    p.add_argument("--learned", nargs="*", default=[], metavar="DETECTOR",
                   help="opt-in learned plate detectors (e.g. platedet) adding candidates and a score feature; "
                        "the model is then written to plate_verifier_<names>.json")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    threshold = args.threshold or load_config()["detectors"]["plates"]["threshold"]
    evalset = load_eval(args.eval)
    cands = collect(evalset, args.cache, args.learned)
    model, report, oof = fitted_report(evalset, cands, threshold)

    def plates_of(i: int, _: np.ndarray) -> Regions:
        boxes = selected(cands[i], oof[i], threshold)
        return Regions.create(boxes, np.ones(len(boxes)), "plate", "plates")
    path = plate_verifier.DEFAULT_PATH
    if args.learned:
        path = path.with_name(f"{path.stem}_{'+'.join(args.learned)}.json")
    return fitting.finish(args, evalset, model, report, path, plates_of, threshold)


if __name__ == "__main__":
    sys.exit(main())
