"""What the calibration fits share (`fit_faces`, `fit_plates`): which photos leave a fold together, the
stacked training data, the out-of-fold scores, the log loss, the command line and the stored JSON."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.evalset import DEFAULT_EVAL, EvalSet, read_rgb
from detectors.calibration import Calibration
from detectors.regions import Regions
from detectors.registry import Registry, load_config

L2 = 1.0  # ridge penalty on the standardised weights

Fit = Callable[[np.ndarray, np.ndarray], Calibration]


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


def uncalibrated(name: str, **settings: Any) -> Any:
    """Detector `name` as configured (`settings` changed) but without its calibration file: the raw candidates
    a fit starts from."""
    config = load_config()
    config["detectors"][name].update(settings, calibration="")
    return Registry(config).get(name)


def stacked(cands: Sequence[Any], keep: Sequence[bool]) -> tuple[np.ndarray, np.ndarray]:
    """Fitted features and labels (`truth`) of the kept photos' candidates."""
    chosen = [c for c, k in zip(cands, keep, strict=True) if k]
    return (np.vstack([c.features[c.fitted] for c in chosen]),
            np.concatenate([c.truth[c.fitted] for c in chosen]).astype(float))


def out_of_fold(cands: Sequence[Any], held_out: list[set[int]], fit: Fit) -> list[np.ndarray]:
    """Each photo's candidates scored by the model fitted without it and its relatives."""
    scores = []
    for i, c in enumerate(cands):
        model = fit(*stacked(cands, [j not in held_out[i] for j in range(len(cands))]))
        scores.append(model.probability(c.features))
    return scores


def fitted(cands: Sequence[Any], records: tuple[dict, ...], fit: Fit) -> tuple[Calibration, list[np.ndarray], dict]:
    """The model fitted on all photos, each photo's out-of-fold scores, and the fit's counts and log losses."""
    oof = out_of_fold(cands, relatives(records), fit)
    x, y = stacked(cands, [True] * len(cands))
    model = fit(x, y)
    held = np.concatenate([p[c.fitted] for p, c in zip(oof, cands, strict=True)])
    return model, oof, {"candidates": len(y), "positives": int(y.sum()), "photos": len(cands), "l2": L2,
                        "log_loss_in_sample": round(log_loss(model.probability(x), y), 4),
                        "log_loss_out_of_fold": round(log_loss(held, y), 4)}


def examples(model: Calibration, cands: Sequence[Any], names: Sequence[str], threshold: float) -> dict:
    """Per named photo: candidates, those selected at `threshold`, and the sum of their probabilities (what the
    tests reproduce from the stored model)."""
    out = {}
    for c in cands:
        if c.file in names:
            p = model.probability(c.features)
            out[c.file] = {"candidates": len(p), "selected": int((p >= threshold).sum()),
                           "probability_sum": round(float(p.sum()), 4)}
    return out


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def arguments(prog: str, doc: str) -> argparse.ArgumentParser:
    """The options every fit script takes; a script adds its own."""
    p = argparse.ArgumentParser(prog=f"python -m {prog}", description=doc.splitlines()[0])
    p.add_argument("--eval", type=Path, default=DEFAULT_EVAL)
    p.add_argument("--threshold", type=float, help="default threshold (default: the one in detectors.toml)")
    p.add_argument("--render", type=Path, help="write out-of-fold anonymised PNGs here, for score.py")
    p.add_argument("--write", action="store_true", help="store the model fitted on all photos in the JSON file")
    return p


def write_model(path: Path, model: Calibration, threshold: float, report: dict) -> None:
    """The fitted model, the threshold it was judged at and its figures, in the detector's JSON file."""
    path.write_text(json.dumps({"model": model.to_json(), "threshold": threshold, "fitted": report}, indent=1) + "\n")
    print(f"wrote {path}", file=sys.stderr)


def weights_line(model: Calibration) -> str:
    """The model's weights, one per standardised feature, as one printable line."""
    return f"weights on standardised features: {model.named_weights()} bias {round(model.bias, 3)}"


def render(evalset: EvalSet, regions_of: Callable[[int, np.ndarray], Regions], out: Path) -> None:
    """Each photo anonymised (default style, fixed seed) with `regions_of(photo index, pixels)`, as PNGs in `out`
    that `score.py` scores like the CLI's outputs."""
    from PIL import Image

    from anonymiser.render import render as draw
    from anonymiser.style import Style

    out.mkdir(parents=True, exist_ok=True)
    for i, record in enumerate(evalset.records):
        image = read_rgb(evalset.path(record))
        regions = regions_of(i, image).clipped(*image.shape[1::-1])
        Image.fromarray(draw(image, regions, style=Style(), seed=0)).save(out / (Path(record["file"]).stem + ".png"))


def finish(args: argparse.Namespace, evalset: EvalSet, model: Calibration, report: dict, path: Path,
           regions_of: Callable[[int, np.ndarray], Regions], threshold: float) -> int:
    """The end of a fit script: the figures and weights printed, the out-of-fold renders and the model written
    when asked for; exit status 1 when the out-of-fold log loss is not a number."""
    print(json.dumps(report, indent=1))
    print(weights_line(model))
    if args.render:
        render(evalset, regions_of, args.render)
    if args.write:
        write_model(path, model, threshold, report)
    return 0 if np.isfinite(report["log_loss_out_of_fold"]) else 1
