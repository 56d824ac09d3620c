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

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.evalset import DEFAULT_EVAL, EvalSet, gt_boxes, load_eval, read_rgb
from detectors import face_calibration
from detectors.geometry import iou
from detectors.regions import Regions
from detectors.registry import Registry, load_config

MATCH_IOU = 0.3
L2 = 1.0
EXAMPLES = ("der_paste_d3.png", "faceapi_sample1.jpg", "insightface_t1.jpg")  # what the test reproduces


@dataclass
class Candidates:
    file: str
    boxes: np.ndarray
    raw: np.ndarray
    features: np.ndarray
    face: np.ndarray  # bool: overlaps an annotated face
    fitted: np.ndarray  # bool: used in the fit (not a second box on a face that already has its best one)


def detector(calibrated: bool = False):
    """RetinaFace as configured, with or without its calibration file."""
    config = load_config()
    if not calibrated:
        config["detectors"]["retinaface"]["calibration"] = ""
    return Registry(config).get("retinaface")


def collect(evalset: EvalSet) -> list[Candidates]:
    model = detector()
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


def relatives(records: tuple[dict, ...]) -> list[set[int]]:
    """Per record, itself and the records it was derived from or that were derived from it (direct links).

    Leaving a photo out leaves these out too: a downscaled copy or a paste of the same faces is not a new photo.
    Pastes sharing a source stay in each other's training data (every paste uses the same few sources, and the
    calibration sees only scores and sizes, which differ between the copies).
    """
    index = {r["file"]: i for i, r in enumerate(records)}
    out = [{i} for i in range(len(records))]
    for i, r in enumerate(records):
        for source in r.get("derived_from") or []:
            if source in index:
                out[i].add(index[source])
                out[index[source]].add(i)
    return out


def stacked(cands: list[Candidates], keep: list[bool]) -> tuple[np.ndarray, np.ndarray]:
    """Fitted features and labels of the kept photos."""
    chosen = [c for c, k in zip(cands, keep, strict=True) if k]
    return (np.vstack([c.features[c.fitted] for c in chosen]),
            np.concatenate([c.face[c.fitted] for c in chosen]))


def out_of_fold(cands: list[Candidates], held_out: list[set[int]]) -> list[np.ndarray]:
    """Each photo's candidates scored by the model fitted without it and its relatives."""
    scores = []
    for i, c in enumerate(cands):
        model = face_calibration.fit(*stacked(cands, [j not in held_out[i] for j in range(len(cands))]), l2=L2)
        scores.append(model.probability(c.features))
    return scores


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


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


def render(evalset: EvalSet, cands: list[Candidates], scores: list[np.ndarray], threshold: float, out: Path) -> None:
    from anonymiser.render import render as draw
    from anonymiser.style import Style

    out.mkdir(parents=True, exist_ok=True)
    for record, c, s in zip(evalset.records, cands, scores, strict=True):
        image = read_rgb(evalset.path(record))
        chosen = s >= threshold
        regions = Regions.create(c.boxes[chosen], s[chosen], "face", "retinaface").clipped(*image.shape[1::-1])
        Image.fromarray(draw(image, regions, style=Style(), seed=0)).save(out / (Path(record["file"]).stem + ".png"))


def examples(evalset: EvalSet, model: face_calibration.Calibration, cands: list[Candidates],
             threshold: float) -> dict:
    """Per example photo: candidates, faces selected at `threshold`, and the sum of their probabilities."""
    out = {}
    for c in cands:
        if c.file in EXAMPLES:
            p = model.probability(c.features)
            out[c.file] = {"candidates": len(p), "selected": int((p >= threshold).sum()),
                           "probability_sum": round(float(p.sum()), 4)}
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.fit_faces", description=__doc__.splitlines()[0])
    p.add_argument("--eval", type=Path, default=DEFAULT_EVAL)
    p.add_argument("--threshold", type=float, help="default threshold (default: the one in detectors.toml)")
    p.add_argument("--render", type=Path, help="write out-of-fold anonymised PNGs here, for score.py")
    p.add_argument("--write", action="store_true", help="store the model fitted on all photos in the JSON file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    threshold = args.threshold or load_config()["detectors"]["retinaface"]["threshold"]
    evalset = load_eval(args.eval)
    cands = collect(evalset)
    oof = out_of_fold(cands, relatives(evalset.records))
    x, y = stacked(cands, [True] * len(cands))
    model = face_calibration.fit(x, y, l2=L2)
    report = {
        "candidates": len(y), "on_faces": int(y.sum()), "photos": len(cands), "l2": L2,
        "match_iou": MATCH_IOU, "log_loss_in_sample": round(log_loss(model.probability(x), y), 4),
        "log_loss_out_of_fold": round(log_loss(np.concatenate([p[c.fitted] for p, c in zip(oof, cands, strict=True)]),
                                               y), 4),
        "out_of_fold": [figures(evalset, cands, oof, t) for t in sorted({0.01, 0.02, 0.05, 0.1, 0.3, 0.5, threshold})],
        "before": figures(evalset, cands, old_rule(cands), 0.5),
        "examples": examples(evalset, model, cands, threshold),
    }
    print(json.dumps(report, indent=1))
    weights = {f: round(float(w), 3) for f, w in zip(face_calibration.FEATURES, model.weights, strict=True)}
    print("weights on standardised features:", weights, "bias", round(model.bias, 3))
    if args.render:
        render(evalset, cands, oof, threshold, args.render)
    if args.write:
        path = face_calibration.DEFAULT_PATH
        path.write_text(json.dumps({"model": model.to_json(), "threshold": threshold, "fitted": report}, indent=1)
                        + "\n")
        print(f"wrote {path}", file=sys.stderr)
    return 0 if math.isfinite(report["log_loss_out_of_fold"]) else 1


if __name__ == "__main__":
    sys.exit(main())
