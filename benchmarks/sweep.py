"""Sweep of face input scales, thresholds and padding (and plate and text thresholds), scored by score.py.

Detection runs once per input scale at the lowest threshold swept, exactly as the engine does for several
kinds (a detector returns everything down to its floor, `accepts(regions, threshold)` selects): each sweep
point then only re-selects, re-renders (the product renderer) and re-scores. Scoring is score.py's own
`score()`; only its file reads are served from memory (inputs decoded once, outputs never written), so a
point costs about a second instead of a folder of PNGs.

Faces are swept coordinate-wise per scale: the threshold on RetinaFace's calibrated score (one for every size),
then padding at the best point overall.
A point is chosen by the issue's targets first, then the cheapest input scale that meets them, then fewest
leaks (see `rank`); no rule looks at single images.
"""
from __future__ import annotations

import io
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from anonymiser.images import LoadedImage, load_image
from anonymiser.render import render
from anonymiser.style import Style
from benchmarks.evalset import EvalSet, load_scorer
from benchmarks.metrics import leak_rows, row
from benchmarks.targets import WIDE_FACE_GROUPS
from detectors.regions import Regions
from detectors.registry import DetectorUnavailable, Registry, load_config

# Scales as configured: the detector's own `max_pixels` cap still applies (with 5 MP, 1920x1080 is fed at
# 1.55x at most), so on the set's largest photos 1.5 and 2.0 differ less than their names.
FACE_SCALES = ((1.0,), (1.25,), (1.5,), (2.0,))
FACE_THRESHOLDS = (0.01, 0.015, 0.02, 0.05, 0.1, 0.3)  # on the calibrated score (detectors/face_calibration.py)
PADDINGS = (0.0, 0.05, 0.1, 0.2, 0.3)
OTHER_THRESHOLDS = {"plates": ("plate", (0.2, 0.3, 0.4, 0.5, 0.6)), "text": ("text", (0.3, 0.4, 0.5, 0.6, 0.7))}
QUICK = {"scales": FACE_SCALES[:2], "thresholds": (0.015, 0.05), "paddings": (0.0, 0.1)}
MEMORY = Path("/memory-outputs")


class MemoryScorer:
    """score.py's `score()` on outputs held in memory: its `load_grey` and `find_output` are redirected.

    The module is a private instance (evalset.load_scorer), so nothing else sees the redirection. Inputs are
    decoded once by score.py's own `load_grey`; outputs are handed to it as uncompressed TIFF bytes.
    """

    def __init__(self, evalset: EvalSet) -> None:
        self.evalset = evalset
        self.module = load_scorer(evalset.root)
        self._outputs: dict[str, np.ndarray] = {}
        self._inputs: dict[str, np.ndarray] = {}
        original = self.module.load_grey

        def load_grey(path: Any) -> np.ndarray:
            key = str(path)
            if key in self._outputs:
                buffer = io.BytesIO()
                Image.fromarray(self._outputs[key]).save(buffer, format="TIFF")
                return original(buffer)
            if key not in self._inputs:
                self._inputs[key] = original(path)
            return self._inputs[key]

        def find_output(out_dir: Path, stem: str) -> Path | None:
            path = Path(out_dir) / stem
            return path if str(path) in self._outputs else None

        self.module.load_grey, self.module.find_output = load_grey, find_output

    def score(self, outputs: dict[str, np.ndarray], labels: set[str]) -> dict:
        """score.py's result for `outputs` (file name -> output pixels)."""
        self._outputs = {str(MEMORY / Path(name).stem): pixels for name, pixels in outputs.items()}
        try:
            return self.module.score(self.evalset.annotations, self.evalset.images, MEMORY, labels)
        finally:
            self._outputs = {}


def variant(name: str, **overrides: Any) -> Registry:
    """A registry whose detector `name` has some config values replaced (detectors.toml is not touched)."""
    config = load_config()
    config["detectors"][name].update(overrides)
    return Registry(config)


def detect_all(detector: Any, images: dict[str, LoadedImage], threshold: float) -> dict[str, Regions]:
    """Regions on every image down to the floor of `threshold` (the lowest swept)."""
    return {name: detector.detect(image.rgb, threshold) for name, image in images.items()}


def detection_ms(detector: Any, images: dict[str, LoadedImage], threshold: float, count: int = 3) -> dict:
    """Median detection time at `threshold` on up to `count` of the set's largest images (1920x1080 in the dev set).

    Timed apart from the sweep's own detection, whose low floor makes post-processing slower than the product's.
    """
    largest = sorted(images.values(), key=lambda im: -im.pixels.shape[0] * im.pixels.shape[1])[:count]
    detector.detect(largest[0].rgb, threshold)  # warm
    times = []
    for image in largest:
        start = time.perf_counter()
        detector.detect(image.rgb, threshold)
        times.append((time.perf_counter() - start) * 1000)
    h, w = largest[0].pixels.shape[:2]
    return {"ms": statistics.median(times), "size": f"{w}x{h}"}


def violations(rows: list[dict], over: float) -> list[str]:
    """The issue's face targets this point misses."""
    wide = [row(rows, g) for g in WIDE_FACE_GROUPS]
    small, hard = row(rows, "face <16px"), row(rows, "face hard")
    missed = []
    if sum(r["leaked"] for r in wide):
        missed.append("faces >= 16 px leaked")
    if small["leaked"] > 0.05 * small["n"]:
        missed.append("faces < 16 px > 5%")
    if hard["leaked"] > 0.30 * hard["n"]:
        missed.append("hard faces > 30%")
    if over > 0.05:
        missed.append("over-anonymisation > 5%")
    return missed


STRICTER = (("threshold", 1), ("padding", -1))  # the direction that risks leaks
SETTINGS = ("scales", "threshold", "padding")


def margin(point: dict, points: list[dict]) -> int:
    """Leaks at the next stricter setting swept beside this point (one step up a threshold, down the padding).

    A point in the middle of a flat stretch of the curve keeps its result if the held-out set is a little
    harder; one at its edge does not. Only used to break ties.
    """
    worst = 0
    for axis, direction in STRICTER:
        if axis not in point:
            continue
        beside = [q for q in points if all(q.get(k) == point.get(k) for k in SETTINGS if k != axis)
                  and (q[axis] - point[axis]) * direction > 0]
        if beside:
            nearest = min(beside, key=lambda q: abs(q[axis] - point[axis]))
            worst = max(worst, nearest["leaked_not_hard"] + nearest["leaked_hard"])
    return worst


def rank(point: dict, points: list[dict]) -> tuple:
    """How a point is chosen: the targets first; among points meeting them the cheapest (network pixels per
    1920x1080 photo: a cost that does not vary with the machine's load); then privacy (leaks not hard, hard,
    the margin), over-anonymisation to the percent, fewer boxes, and among equals the higher threshold."""
    feasible = not point["violations"]
    return (len(point["violations"]), point.get("network_mp", 0.0) if feasible else 0.0, point["leaked_not_hard"],
            point["leaked_hard"], margin(point, points), round(point["over_anonymisation"], 2), point["selected"],
            -point["threshold"])


def network_megapixels(detector: Any, size: tuple[int, int] = (1920, 1080)) -> float:
    """Megapixels a face detector feeds its network for one photo of `size`, counted at its `_run` hook (one
    call per padded crop, detectors/faces.py), so its own scaling, tiling and pixel cap are what is counted."""
    seen: list[int] = []
    run = detector._run

    def counting(crop: np.ndarray, *args: Any) -> Any:
        seen.append(crop.shape[0] * crop.shape[1])
        return run(crop, *args)

    detector._run = counting
    try:
        detector.detect(np.zeros((size[1], size[0], 3), np.uint8), 0.5)
    finally:
        del detector._run
    return sum(seen) / 1e6


class Sweep:
    def __init__(self, evalset: EvalSet, quick: bool) -> None:
        self.evalset = evalset
        self.scorer = MemoryScorer(evalset)
        self.images = {rec["file"]: load_image(evalset.path(rec).read_bytes()) for rec in evalset.records}
        self.quick = quick

    def evaluate(self, regions: dict[str, Regions], selected: dict[str, np.ndarray], label: str,
                 padding: float, **point: Any) -> dict:
        outputs = {f: render(self.images[f].pixels, regions[f], selected[f], Style(padding=padding), seed=0)
                   for f in self.images}
        scored = self.scorer.score(outputs, {label})
        rows = leak_rows(scored["table"], [label])
        not_hard, hard = row(rows, f"{label} not hard"), row(rows, f"{label} hard")
        return {**point, "padding": padding, "rows": rows, "over_anonymisation": scored["over_anonymisation"],
                "leaked_not_hard": not_hard["leaked"], "leaked_hard": hard["leaked"],
                "selected": int(sum(s.sum() for s in selected.values()))}

    def face_point(self, found: dict[str, Regions], scales: tuple[float, ...], threshold: float,
                   padding: float, speed: dict) -> dict:
        """Faces selected as RetinaFace does: its calibrated score reaches the threshold, at every size."""
        selected = {f: r.scores >= threshold for f, r in found.items()}
        point = self.evaluate(found, selected, "face", padding, scales=list(scales), threshold=threshold, **speed)
        point["violations"] = violations(point["rows"], point["over_anonymisation"])
        return point

    def faces(self) -> dict:
        settings = load_config()["detectors"]["retinaface"]
        default = {"scales": list(settings["scales"]), "threshold": settings["threshold"], "padding": Style().padding}
        grid = QUICK if self.quick else {"scales": FACE_SCALES, "thresholds": FACE_THRESHOLDS, "paddings": PADDINGS}
        thresholds = sorted({*grid["thresholds"], default["threshold"]})
        scale_grid = list(dict.fromkeys([*grid["scales"], tuple(default["scales"])]))
        points, best_by_scale, found_by_scale, speeds = [], {}, {}, {}
        for scales in scale_grid:
            lowest = variant("retinaface", scales=list(scales), threshold=min(thresholds)).get("retinaface")
            found = detect_all(lowest, self.images, min(thresholds))
            found_by_scale[scales] = found
            product = variant("retinaface", scales=list(scales)).get("retinaface")
            speed = {**detection_ms(product, self.images, default["threshold"]),
                     "network_mp": network_megapixels(product)}
            speeds[scales] = speed
            curve = [self.face_point(found, scales, t, default["padding"], speed) for t in thresholds]
            points += curve
            best_by_scale[scales] = min(curve, key=lambda p: rank(p, points))
        best = min(best_by_scale.values(), key=lambda p: rank(p, points))
        scales = tuple(best["scales"])
        paddings = [self.face_point(found_by_scale[scales], scales, best["threshold"], p, speeds[scales])
                    for p in sorted({*grid["paddings"], default["padding"]}) if p != best["padding"]]
        points += paddings
        chosen = min([best, *paddings], key=lambda p: rank(p, points))
        current = next((p for p in points if all(p[k] == v for k, v in default.items())), None)
        return {"points": points, "chosen": chosen, "current": current, "default": default}

    def other(self, kind: str) -> dict | None:
        """Threshold curve of the detector behind `kind` (plates, text), at the default padding."""
        config = load_config()
        name = config["kinds"][kind]["detector"]
        label, thresholds = OTHER_THRESHOLDS[kind]
        if self.quick:
            thresholds = thresholds[1::2]
        default = config["detectors"][name]["threshold"]
        thresholds = sorted({*thresholds, default})
        try:
            detector = Registry(config).get(name)
        except DetectorUnavailable as exc:
            return {"detector": name, "unavailable": str(exc)}
        found = detect_all(detector, self.images, min(thresholds))
        points = []
        for t in thresholds:
            selected = {f: detector.accepts(r, t) for f, r in found.items()}
            points.append({**self.evaluate(found, selected, label, Style().padding, threshold=t),
                           "violations": []})
        chosen = min(points, key=lambda p: rank(p, points))
        return {"detector": name, "label": label, "default": default, "points": points, "chosen": chosen}


def run(evalset: EvalSet, out: Path, quick: bool) -> dict:
    sweep = Sweep(evalset, quick)
    result = {"faces": sweep.faces()}
    for kind in OTHER_THRESHOLDS:
        result[kind] = sweep.other(kind)
    return result
