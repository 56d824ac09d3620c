"""The default kinds (faces and plates) out-of-fold: what the default CLI run would score on photos its
calibrations never saw.

    python -m benchmarks.run default-oof [--eval ../shared/eval] [--out DIR]

Both calibrations (`fit_faces`, `fit_plates`) are fitted once per photo without it and its derived copies; the
faces and plates each selects at its default threshold are drawn into one image per photo, as the CLI draws
them, and `score.py` scores the folder: leaks by group and over-anonymisation of the two together.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks import fit_faces, fit_plates, fitting
from benchmarks.evalset import DEFAULT_EVAL, load_eval, load_scorer
from detectors import face_calibration, plate_verifier
from detectors.regions import Regions
from detectors.registry import load_config


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run default-oof", description=__doc__.splitlines()[0])
    p.add_argument("--eval", type=Path, default=DEFAULT_EVAL)
    p.add_argument("--out", type=Path, help="keep the rendered PNGs here (default: a temporary folder)")
    args = p.parse_args(argv)
    config = load_config()["detectors"]
    face_threshold, plate_threshold = config["retinaface"]["threshold"], config["plates"]["threshold"]
    evalset = load_eval(args.eval)
    held_out = fitting.relatives(evalset.records)
    faces = fit_faces.collect(evalset)
    face_scores = fitting.out_of_fold(faces, held_out, face_calibration.fit)
    plates = fit_plates.collect(evalset)
    plate_scores = fitting.out_of_fold(plates, held_out, plate_verifier.fit)

    def both(i: int, _: np.ndarray) -> Regions:
        keep = face_scores[i] >= face_threshold
        boxes = fit_plates.selected(plates[i], plate_scores[i], plate_threshold)
        return Regions.merge([Regions.create(faces[i].boxes[keep], face_scores[i][keep], "face", "retinaface"),
                              Regions.create(boxes, np.ones(len(boxes)), "plate", "plates")])

    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        fitting.render(evalset, both, out)
        scorer = load_scorer(evalset.root)
        return scorer.main([str(evalset.annotations), str(evalset.images), str(out),
                            "--labels", "face,plate"])


if __name__ == "__main__":
    sys.exit(main())
