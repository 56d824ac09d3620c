"""`python -m benchmarks.run people`: people on the dev set, by person height, as boxes and as silhouettes.

Three renders of every photo, people only, scored by the set's `score.py`: "before" (the COCO detector's
persons at its own threshold, boxes: what `--detect people` drew before the people detector), "boxes" (the
people detector, boxes) and "masks" (the same people, silhouettes where the detector gives them). Prints the
non-hard people leaked per height bucket (< 32, 32-96, 96-256, > 256 px; hard people apart), the
over-anonymisation of each render, and the time: people found (ms per photo) and masks (ms per masked person).
Timings are wall-clock on whatever else the machine is running: compare the columns of one run.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from anonymiser.render import render
from anonymiser.style import Style
from benchmarks.evalset import DEFAULT_EVAL, EvalSet, load_eval, load_scorer, read_rgb
from detectors.engine import detect
from detectors.people import People
from detectors.regions import Regions
from detectors.registry import Registry, default_registry

BUCKETS = ((0, 32, "<32"), (32, 96, "32-96"), (96, 256, "96-256"), (256, 10**9, ">256"))
RENDERS = ("before", "boxes", "masks")


def bucket(height: float) -> str:
    return next(name for lo, hi, name in BUCKETS if lo <= height < hi)


PeopleOf = Callable[[int, np.ndarray, dict[str, float]], Regions]


def people_of(registry: Registry) -> PeopleOf:
    """The people detector's selected people, boxes found and masks added separately so both are timed."""
    detector = registry.get("people")
    threshold = registry.settings("people")["threshold"]

    def find(_: int, image: np.ndarray, timings: dict[str, float]) -> Regions:
        start = time.perf_counter()
        people = detector.detect(image, threshold, masks=False)
        people = people[detector.accepts(people, threshold)]
        timings["find"] += time.perf_counter() - start
        return masked(detector, image, people, threshold, timings)
    return find


def masked(detector: People, image: np.ndarray, people: Regions, threshold: float,
           timings: dict[str, float]) -> Regions:
    """`people` with the detector's silhouettes, timed."""
    if detector.segmenter is not None:
        start = time.perf_counter()
        people.masks = detector.silhouettes(image, people, threshold)
        timings["masks"] += time.perf_counter() - start
        timings["masked"] += sum(m is not None for m in people.masks)
    return people


def rendered(evalset: EvalSet, registry: Registry, folder: Path, find: PeopleOf | None = None) -> dict[str, float]:
    """Writes the three renders of every photo under folder/<render>/ (people by `find`, default the people
    detector's); returns the timings."""
    find = find or people_of(registry)
    timings = {"find": 0.0, "masks": 0.0, "masked": 0, "before": 0.0}
    for name in RENDERS:
        (folder / name).mkdir(parents=True, exist_ok=True)
    for i, record in enumerate(evalset.records):
        image = read_rgb(evalset.path(record))
        stem = Path(record["file"]).stem
        start = time.perf_counter()
        before = detect(image, "person", registry=registry)
        timings["before"] += time.perf_counter() - start
        people = find(i, image, timings)
        outputs = {"before": render(image, before.regions, before.selected, Style(shape="box"), seed=0),
                   "boxes": render(image, people, None, Style(shape="box"), seed=0),
                   "masks": render(image, people, None, Style(shape="auto"), seed=0)}
        for name, pixels in outputs.items():
            Image.fromarray(pixels).save(folder / name / f"{stem}.png", compress_level=1)
    return timings


def table(evalset: EvalSet, folder: Path) -> list[str]:
    scorer = load_scorer(evalset.root)
    results = {name: scorer.score(evalset.annotations, evalset.images, folder / name, {"person"}) for name in RENDERS}
    keys = [name for _, _, name in BUCKETS] + ["all not hard", "hard"]
    lines = ["| people (height, px) | n | " + " | ".join(f"leaked: {n}" for n in RENDERS) + " |",
             "|---|---|" + "---|" * len(RENDERS)]
    for key in keys:
        counts = {}
        for name, result in results.items():
            rows = result["objects"]
            if key == "hard":
                mine = [r for r in rows if r["hard"]]
            elif key == "all not hard":
                mine = [r for r in rows if not r["hard"]]
            else:
                mine = [r for r in rows if not r["hard"] and bucket(r["box"][3] - r["box"][1]) == key]
            counts[name] = (len(mine), sum(r["leaked"] for r in mine))
        n = counts[RENDERS[0]][0]
        lines.append(f"| {key} | {n} | " + " | ".join(f"{counts[r][1]} ({counts[r][1] / max(n, 1):.0%})"
                                                      for r in RENDERS) + " |")
    lines.append("| over-anonymisation | | " + " | ".join(f"{results[r]['over_anonymisation']:.1%}"
                                                          for r in RENDERS) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run people", description=__doc__.splitlines()[0])
    p.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="evaluation folder; default ../shared/eval")
    p.add_argument("--images", type=int, help="at most this many images of the set, spread evenly")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        evalset = load_eval(args.eval).subset(args.images, Path(tmp) / "subset")
        registry = default_registry()
        timings = rendered(evalset, registry, Path(tmp))
        lines = table(evalset, Path(tmp))
    photos = len(evalset.records)
    print("\n".join(lines))
    print(f"\n{photos} photos; before: {timings['before'] / photos * 1000:.0f} ms a photo; people found: "
          f"{timings['find'] / photos * 1000:.0f} ms a photo; masks: {timings['masked']} people, "
          f"{timings['masks'] / max(timings['masked'], 1) * 1000:.0f} ms a masked person "
          f"(wall clock, shared machine)")
    return 0
