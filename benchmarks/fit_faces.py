"""Refit the calibrated face score (`detectors/face_calibration.json`) and report it out-of-fold.

    python -m benchmarks.fit_faces [--eval ../shared/eval] [--render OUT] [--write]

RetinaFace's candidates on every dev photo (searched down to `raw_floor`, kept by NMS) are labelled face when
they overlap an annotated face (hard and depicted ones included) with IoU >= MATCH_IOU. A logistic regression on
`detectors.face_calibration.FEATURES` is fitted once per photo, leaving out that photo and the photos derived
from it or it from (see `relatives`): each photo's figures come from a model that never saw it or its copies. `--render`
writes each photo's out-of-fold faces, anonymised with the default style, as PNGs that `score.py` scores like
the CLI's outputs; `--write` stores the model fitted on all photos, with the figures, in the JSON file.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from benchmarks import fitting
from benchmarks.evalset import EvalSet, gt_boxes, load_eval, read_rgb
from detectors import face_calibration
from detectors.geometry import iou
from detectors.regions import Regions
from detectors.registry import load_config

MATCH_IOU = 0.3
EXAMPLES = ("der_paste_d3.png", "faceapi_sample1.jpg", "insightface_t1.jpg")  # what the test reproduces


@dataclass
class Candidates:
    file: str
    boxes: np.ndarray
    raw: np.ndarray
    features: np.ndarray
    face: np.ndarray  # bool: overlaps an annotated face
    fitted: np.ndarray  # bool: used in the fit (not a second box on a face that already has its best one)

    @property
    def truth(self) -> np.ndarray:
        return self.face


def collect(evalset: EvalSet) -> list[Candidates]:
    model = fitting.uncalibrated("retinaface")
    out = []
    for record in evalset.records:
        found, features = model.candidates(read_rgb(evalset.path(record)), model.raw_floor)
        truth, _ = gt_boxes(record, "face")
        out.append(Candidates(record["file"], found.boxes, found.scores, features, *labels(found, truth)))
        print(f"  {record['file']}: {len(found)} candidates, {int(out[-1].face.sum())} on faces", file=sys.stderr)
    return out


def labels(found: Regions, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which candidates lie on a face, and which are fitted: every box off faces, and on each face its
    highest-scoring box only. The other boxes on a face are left out of the fit: they are harmless where they
    are, but taken as faces they would teach the model that any loose low-scoring box is one."""
    if not len(truth) or not len(found):
        return np.zeros(len(found), bool), np.ones(len(found), bool)
    overlaps = iou(found.boxes, truth) >= MATCH_IOU
    face = overlaps.any(axis=1)
    fitted = ~face
    for j in range(len(truth)):
        on = np.flatnonzero(overlaps[:, j])
        if len(on):
            fitted[on[np.argmax(found.scores[on])]] = True
    return face, fitted


def face_bucket(box: np.ndarray, hard: bool) -> str:
    return "hard" if hard else ("<16 px" if box[2] - box[0] < 16 else ">=16 px")


def figures(evalset: EvalSet, cands: list[Candidates], scores: list[np.ndarray], threshold: float) -> dict:
    """Faces not covered by a selected box (IoU < MATCH_IOU) by bucket, false boxes, regions per photo."""
    missed = {"<16 px": 0, ">=16 px": 0, "hard": 0}
    total = dict.fromkeys(missed, 0)
    false = 0
    counts = []
    for record, c, s in zip(evalset.records, cands, scores, strict=True):
        chosen = s >= threshold
        counts.append(int(chosen.sum()))
        false += int((chosen & ~c.face).sum())
        truth, hard = gt_boxes(record, "face")
        best = iou(truth, c.boxes[chosen]).max(axis=1) if chosen.any() else np.zeros(len(truth))
        for box, h, b in zip(truth, hard, best, strict=True):
            total[face_bucket(box, h)] += 1
            missed[face_bucket(box, h)] += int(b < MATCH_IOU)
    return {"threshold": threshold, "missed": missed, "faces": total, "false_boxes": false,
            "regions_per_photo_mean": round(float(np.mean(counts)), 2), "regions_per_photo_max": max(counts)}


def old_rule(cands: list[Candidates]) -> list[np.ndarray]:
    """Yesterday's selection as a 0/1 score: raw >= 0.03 for boxes under 16 px wide, else raw >= 0.3."""
    return [np.where(c.boxes[:, 2] - c.boxes[:, 0] < 16, c.raw >= 0.03, c.raw >= 0.3).astype(float) for c in cands]


def main(argv: list[str] | None = None) -> int:
    args = fitting.arguments("benchmarks.fit_faces", __doc__).parse_args(argv)
    threshold = args.threshold or load_config()["detectors"]["retinaface"]["threshold"]
    evalset = load_eval(args.eval)
    cands = collect(evalset)
    oof = fitting.out_of_fold(cands, fitting.relatives(evalset.records), face_calibration.fit)
    x, y = fitting.stacked(cands, [True] * len(cands))
    model = face_calibration.fit(x, y)
    report = {
        "candidates": len(y), "on_faces": int(y.sum()), "photos": len(cands), "l2": fitting.L2,
        "match_iou": MATCH_IOU, "log_loss_in_sample": round(fitting.log_loss(model.probability(x), y), 4),
        "log_loss_out_of_fold": round(fitting.log_loss(
            np.concatenate([p[c.fitted] for p, c in zip(oof, cands, strict=True)]), y), 4),
        "out_of_fold": [figures(evalset, cands, oof, t) for t in sorted({0.01, 0.02, 0.05, 0.1, 0.3, 0.5, threshold})],
        "before": figures(evalset, cands, old_rule(cands), 0.5),
        "examples": fitting.examples(model, cands, EXAMPLES, threshold),
    }

    def faces_of(i: int, _: np.ndarray) -> Regions:
        keep = oof[i] >= threshold
        return Regions.create(cands[i].boxes[keep], oof[i][keep], "face", "retinaface")
    return fitting.finish(args, evalset, model, report, face_calibration.DEFAULT_PATH, faces_of, threshold)


if __name__ == "__main__":
    sys.exit(main())
