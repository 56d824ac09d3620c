"""Refit the calibrated person score (`detectors/people_calibration.json`) and report it out-of-fold.

    python -m benchmarks.fit_people [--eval ../shared/eval] [--render OUT] [--write]

The people detector's candidates from every source on every dev photo (each searched down to its raw floor)
are labelled person when they overlap an annotated person (hard ones included) with IoU >= MATCH_IOU, or lie
inside one grown by a quarter a side (part of a person: drawing it is no over-anonymisation). Fitted: every
candidate off people and, on each person, the best-overlapping candidate (the others would teach the model that
any loose box near a person is one). A logistic regression on `detectors.people_calibration.FEATURES` is
fitted once per photo, leaving out that photo and its relatives (see `fitting.relatives`). Printed: the figures
by threshold (people with no selected box on them, boxes off people), and with `--render OUT` the dev set
rendered with the out-of-fold people (before / boxes / masks, `benchmarks.people`) and scored by `score.py`.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from benchmarks import fitting
from benchmarks import people as bench
from benchmarks.evalset import EvalSet, gt_boxes, load_eval, read_rgb
from detectors import people_calibration
from detectors.geometry import inside, iou
from detectors.people import distinct
from detectors.regions import Regions
from detectors.registry import default_registry, load_config

MATCH_IOU = 0.3
PART_INSIDE = 0.8  # a candidate this much inside a person's box grown by a quarter a side is part of that person
SWEEP = (0.2, 0.3, 0.4, 0.5, 0.6)
EXAMPLES = ("faceapi_sample1.jpg",)  # what the test reproduces


@dataclass
class Candidates:
    file: str
    found: Regions
    sources: np.ndarray
    features: np.ndarray
    truth: np.ndarray  # bool: on an annotated person
    fitted: np.ndarray  # bool: used in the fit


def grown(boxes: np.ndarray, share: float) -> np.ndarray:
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return boxes + np.stack([-w, -h, w, h], 1) * share


def labels(found: Regions, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if not len(truth) or not len(found):
        return np.zeros(len(found), bool), np.ones(len(found), bool)
    overlaps = iou(found.boxes, truth)
    person = ((overlaps >= MATCH_IOU) | (inside(found.boxes, grown(truth, 0.25)) >= PART_INSIDE)).any(axis=1)
    fitted = ~person
    for j in range(len(truth)):
        if overlaps[:, j].max() >= MATCH_IOU:
            fitted[np.argmax(overlaps[:, j])] = True
    return person, fitted


def collect(evalset: EvalSet, detector) -> list[Candidates]:
    out = []
    for record in evalset.records:
        found, x, sources = detector.candidates(read_rgb(evalset.path(record)))
        truth, _ = gt_boxes(record, "person")
        out.append(Candidates(record["file"], found, sources, x, *labels(found, truth)))
        print(f"  {record['file']}: {len(found)} candidates, {int(out[-1].truth.sum())} on people", file=sys.stderr)
    return out


def selected(c: Candidates, scores: np.ndarray, threshold: float,
             same_body_iou: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices and scores of the candidates kept at `threshold`, each body once (as the detector keeps them)."""
    kept, p = distinct(Regions.create(c.found.boxes, scores, "person", "people"), c.sources, same_body_iou)
    return kept[p >= threshold], p[p >= threshold]


def figures(evalset: EvalSet, cands: list[Candidates], scores: list[np.ndarray], threshold: float,
            same_body_iou: float) -> dict:
    """Non-hard people by height with no selected box on them (IoU < MATCH_IOU and their core not mostly
    inside one), hard ones apart, and selected boxes off people."""
    missed = {name: 0 for *_, name in bench.BUCKETS} | {"hard": 0}
    total = dict.fromkeys(missed, 0)
    false = 0
    for record, c, s in zip(evalset.records, cands, scores, strict=True):
        kept, _ = selected(c, s, threshold, same_body_iou)
        false += int((~c.truth[kept]).sum())
        truth, hard = gt_boxes(record, "person")
        boxes = c.found.boxes[kept]
        on = np.zeros(len(truth), bool)
        if len(truth) and len(boxes):
            on = (iou(truth, boxes).max(axis=1) >= MATCH_IOU) | (inside(grown(truth, -0.15), boxes).max(axis=1) >= 0.7)
        for box, h, hit in zip(truth, hard, on, strict=True):
            key = "hard" if h else bench.bucket(box[3] - box[1])
            total[key] += 1
            missed[key] += int(not hit)
    return {"threshold": threshold, "missed": missed, "people": total, "false_boxes": false}


def raw_rule(cands: list[Candidates]) -> list[np.ndarray]:
    """Yesterday's selection as a 0/1 score: SSD >= 0.25, bodies under faces >= 0.3 x 0.8, BlazePose >= 0.5."""
    return [np.where(c.sources == 0, c.found.scores >= 0.25,
                     np.where(c.sources == 1, c.found.scores >= 0.3, c.found.scores >= 0.5)).astype(float)
            for c in cands]


def main(argv: list[str] | None = None) -> int:
    args = fitting.arguments("benchmarks.fit_people", __doc__).parse_args(argv)
    settings = load_config()["detectors"]["people"]
    threshold = args.threshold or settings["threshold"]
    same_body_iou = settings["same_body_iou"]
    evalset = load_eval(args.eval)
    detector = fitting.uncalibrated("people")
    cands = collect(evalset, detector)
    model, oof, report = fitting.fitted(cands, evalset.records, people_calibration.fit)
    report |= {
        "match_iou": MATCH_IOU,
        "out_of_fold": [figures(evalset, cands, oof, t, same_body_iou) for t in sorted({*SWEEP, threshold})],
        "before": figures(evalset, cands, raw_rule(cands), 0.5, same_body_iou),
        "examples": fitting.examples(model, cands, EXAMPLES, threshold),
    }

    def people_of(i: int, image: np.ndarray, timings: dict[str, float]) -> Regions:
        kept, p = selected(cands[i], oof[i], threshold, same_body_iou)
        return bench.masked(detector, image, Regions.create(cands[i].found.boxes[kept], p, "person", "people"),
                            threshold, timings)
    folder, args.render = args.render, None  # rendered below: three renders of people, not the default one
    code = fitting.finish(args, evalset, model, report, people_calibration.DEFAULT_PATH, people_of, threshold)
    if folder:
        bench.rendered(evalset, default_registry(), folder, people_of)
        print("\n".join(bench.table(evalset, folder)))
    return code

if __name__ == "__main__":
    sys.exit(main())
