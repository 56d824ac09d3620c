"""Quality on the evaluation set: our outputs written as files and scored by the set's own score.py.

Two runs of the product pipeline (`anonymise_bytes`, what the CLI calls): the default kinds (faces, plates)
and all four annotated kinds. Each writes PNG outputs under OUT/quality/<run>/ and is scored on the labels
it was asked for. The all-kinds run also gives each detector's recall and precision at IoU 0.5, and the
default run's outputs go through the re-identification proxy (an independent face detector).
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

from anonymiser.images import load_image
from anonymiser.pipeline import Settings, anonymise_bytes
from benchmarks.evalset import EvalSet, load_scorer, read_rgb
from benchmarks.metrics import LABELS, detector_scores, leak_rows, redetected
from benchmarks.proxy import independent_face_detector
from detectors.engine import DEFAULT_KINDS, resolve
from detectors.registry import Registry

RUNS = {"default": DEFAULT_KINDS, "all kinds": ("faces", "plates", "text", "people")}


def labels_of(kinds: tuple[str, ...], registry: Registry) -> list[str]:
    """The annotated labels a run is asked to anonymise (what it is scored on)."""
    wanted = {label for kind in kinds for label in resolve(kind, registry).labels}
    return [label for label in LABELS if label in wanted]


def anonymise_folder(evalset: EvalSet, kinds: tuple[str, ...], folder: Path, registry: Registry) -> dict:
    """Outputs of the product pipeline as PNG files; returns the selected boxes per (detector, annotated label)
    and per image, the kinds whose detector was unavailable, and the wall time."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    settings = Settings.create(kinds, format="png")
    pairs = [(resolve(kind, registry).detector, label) for kind in kinds
             for label in resolve(kind, registry).labels if label in LABELS]
    selected: dict[tuple[str, str], dict[str, np.ndarray]] = {pair: {} for pair in pairs}
    unavailable: dict[str, str] = {}
    start = time.perf_counter()
    for rec in evalset.records:
        outcome = anonymise_bytes(evalset.path(rec).read_bytes(), settings, registry, source=rec["file"])
        (folder / f"{Path(rec['file']).stem}.png").write_bytes(outcome.data)
        found = outcome.detection
        chosen = found.regions[found.selected]
        for detector, label in pairs:
            selected[detector, label][rec["file"]] = chosen[(chosen.detectors == detector)
                                                            & (chosen.labels == label)].boxes
        unavailable.update(found.unavailable)
    return {"selected": selected, "unavailable": unavailable, "seconds": time.perf_counter() - start}


def score_folder(evalset: EvalSet, folder: Path, labels: list[str]) -> dict:
    """score.py's verdict on a folder of outputs: leak rows in report order and over-anonymisation."""
    scored = load_scorer(evalset.root).score(evalset.annotations, evalset.images, folder, set(labels))
    return {"rows": leak_rows(scored["table"], labels), "over_anonymisation": scored["over_anonymisation"],
            "missing_outputs": scored["missing_outputs"]}


def run(evalset: EvalSet, out: Path, registry: Registry) -> dict:
    result: dict = {"images": len(evalset.records), "runs": {}, "detectors": {}}
    boxes_by_run = {}
    for name, kinds in RUNS.items():
        folder = out / "quality" / name.replace(" ", "_")
        made = anonymise_folder(evalset, kinds, folder, registry)
        labels = labels_of(kinds, registry)
        result["runs"][name] = {"kinds": list(kinds), "labels": labels, "folder": str(folder),
                                **score_folder(evalset, folder, labels), "unavailable": made["unavailable"],
                                "seconds": round(made["seconds"], 1)}
        boxes_by_run[name] = made["selected"]
    unavailable = result["runs"]["all kinds"]["unavailable"]
    for (detector, label), found in boxes_by_run["all kinds"].items():
        if not any(resolve(kind, registry).detector == detector for kind in unavailable):
            result["detectors"][detector] = {"label": label, **detector_scores(found, evalset.records, label)}
    result["reidentification"] = reidentification(evalset, out / "quality" / "default", registry,
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
