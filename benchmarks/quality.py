"""Quality on the evaluation set: our outputs written as files and scored by the set's own score.py.

Two runs: the default kinds (faces, plates) and all four annotated kinds, from one pass of the product
pipeline (`anonymise_bytes`, what the CLI calls; see `anonymise_folders`). Each writes PNG outputs under
OUT/quality/<run>/ and is scored on the labels it was asked for. The all-kinds run also gives each
detector's recall and precision at IoU 0.5, and the default run's outputs go through the re-identification
proxy (an independent face detector).
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

from anonymiser.images import encode_image, load_image
from anonymiser.pipeline import anonymise_bytes
from anonymiser.render import render
from anonymiser.settings import Settings
from benchmarks.evalset import EvalSet, load_scorer, read_rgb
from benchmarks.metrics import LABELS, detector_scores, leak_rows, redetected
from benchmarks.proxy import independent_face_detector
from detectors.engine import DEFAULT_KINDS, resolve
from detectors.registry import Registry

ALL = "all kinds"
RUNS = {"default": DEFAULT_KINDS, ALL: ("faces", "plates", "text", "people")}


def labels_of(kinds: tuple[str, ...], registry: Registry) -> list[str]:
    """The annotated labels a run is asked to anonymise (what it is scored on)."""
    wanted = {label for kind in kinds for label in resolve(kind, registry).labels}
    return [label for label in LABELS if label in wanted]


def anonymise_folders(evalset: EvalSet, out: Path, registry: Registry) -> dict:
    """PNG outputs of every run from one pass of the product pipeline (`anonymise_bytes` with all kinds).

    The all-kinds output is the pipeline's own; a run with fewer kinds renders (with the product renderer)
    the same detection's selected regions of its kinds only, which is what the pipeline computes for those
    kinds, since each kind's detector runs on its own (tests/benchmarks checks it). Returns the folders,
    the all-kinds run's selected boxes per (detector, annotated label) and per image, the kinds whose
    detector was unavailable, and the wall time.
    """
    folders = {name: out / "quality" / name.replace(" ", "_") for name in RUNS}
    for folder in folders.values():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    settings = Settings.parse(RUNS[ALL], format="png")
    kept = {name: [label for kind in kinds for label in resolve(kind, registry).labels] for name, kinds in RUNS.items()}
    pairs = [(resolve(kind, registry).detector, label) for kind in RUNS[ALL]
             for label in resolve(kind, registry).labels if label in LABELS]
    selected: dict[tuple[str, str], dict[str, np.ndarray]] = {pair: {} for pair in pairs}
    unavailable: dict[str, str] = {}
    start = time.perf_counter()
    for rec in evalset.records:
        outcome = anonymise_bytes(evalset.path(rec).read_bytes(), settings, registry, source=rec["file"])
        regions, chosen = outcome.detection.regions, outcome.detection.selected
        for name, folder in folders.items():
            data = outcome.data
            if name != ALL:
                mine = chosen & np.isin(regions.labels.astype(str), kept[name])
                data = encode_image(render(outcome.image.pixels, regions, mine, settings.style), "PNG",
                                    grey=outcome.image.grey)
            (folder / f"{Path(rec['file']).stem}.png").write_bytes(data)
        for detector, label in pairs:
            selected[detector, label][rec["file"]] = regions[chosen & (regions.detectors == detector)
                                                             & (regions.labels == label)].boxes
        unavailable.update(outcome.detection.unavailable)
    return {"folders": folders, "selected": selected, "unavailable": unavailable,
            "seconds": time.perf_counter() - start}


def score_folder(evalset: EvalSet, folder: Path, labels: list[str]) -> dict:
    """score.py's verdict on a folder of outputs: leak rows in report order and over-anonymisation."""
    scored = load_scorer(evalset.root).score(evalset.annotations, evalset.images, folder, set(labels))
    return {"rows": leak_rows(scored["table"], labels), "over_anonymisation": scored["over_anonymisation"],
            "missing_outputs": scored["missing_outputs"]}


def run(evalset: EvalSet, out: Path, registry: Registry) -> dict:
    made = anonymise_folders(evalset, out, registry)
    result: dict = {"images": len(evalset.records), "seconds": round(made["seconds"], 1), "runs": {},
                    "detectors": {}}
    for name, kinds in RUNS.items():
        labels = labels_of(kinds, registry)
        result["runs"][name] = {"kinds": list(kinds), "labels": labels, "folder": str(made["folders"][name]),
                                **score_folder(evalset, made["folders"][name], labels),
                                "unavailable": {k: v for k, v in made["unavailable"].items() if k in kinds}}
    for (detector, label), found in made["selected"].items():
        if not any(resolve(kind, registry).detector == detector for kind in made["unavailable"]):
            result["detectors"][detector] = {"label": label, **detector_scores(found, evalset.records, label)}
    result["reidentification"] = reidentification(evalset, made["folders"]["default"], registry,
                                                   load_scorer(evalset.root).bucket)
    return result


def reidentification(evalset: EvalSet, folder: Path, registry: Registry, bucket) -> dict:
    """Faces the independent detector finds on the inputs, and still finds on our outputs, per face group."""
    proxy = independent_face_detector(registry)
    on_inputs, on_outputs = {}, {}
    for rec in evalset.records:
        on_inputs[rec["file"]] = proxy.find(read_rgb(evalset.path(rec)))
        output = folder / f"{Path(rec['file']).stem}.png"
        on_outputs[rec["file"]] = proxy.find(load_image(output.read_bytes()).rgb)
    return {"proxy": proxy.name, "inputs": redetected(on_inputs, evalset.records, bucket),
            "outputs": redetected(on_outputs, evalset.records, bucket)}
