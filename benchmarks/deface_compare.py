"""Side by side with deface 1.5.0 (the established open-source face anonymiser): same images, machine and run.

deface's default CLI (`deface FOLDER`: CenterFace, threshold 0.2, blurred ellipses) against ours with faces
only (`python -m anonymiser FOLDER --out DIR --detect faces`), alternating, each `repeats` times; time per
image = the command's wall clock / images (start-up and model loading included for both). Both output
folders are scored by score.py. deface lives in its own venv (benchmarks/.deface-venv, created on first use
from benchmarks/deface-requirements.txt), never in the project's.
"""
from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.evalset import ROOT, EvalSet
from benchmarks.metrics import row
from benchmarks.quality import score_folder

VENV = ROOT / "benchmarks" / ".deface-venv"
REQUIREMENTS = ROOT / "benchmarks" / "deface-requirements.txt"
DEFACE = "deface==1.5.0"
TIMEOUT_S = 900


def ensure_venv() -> Path:
    """deface's executable, installing its venv first if needed (pinned; pip only talks to the package index)."""
    exe = VENV / "bin" / "deface"
    if exe.is_file():
        return exe
    print(f"  creating {VENV} with {DEFACE}", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    subprocess.run([*pip, "--no-deps", DEFACE], check=True)
    return exe


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S)
    if done.returncode:
        raise RuntimeError(f"{command[0]} failed: {done.stderr.strip()[-500:]}")
    return time.perf_counter() - start


def run_ours(inputs: Path, out: Path, options: str = "faces") -> float:
    """Our CLI on `inputs`; `options` = the kinds to detect, optionally followed by CLI options ("faces --jobs 2")."""
    shutil.rmtree(out, ignore_errors=True)
    kinds, *extra = options.split()
    return timed([sys.executable, "-m", "anonymiser", str(inputs), "--out", str(out), "--detect", kinds,
                  "--no-progress", *extra])


def run_deface(exe: Path, evalset: EvalSet, work: Path, out: Path) -> float:
    """deface writes `<stem>_anonymized.<ext>` beside each input: run it on fresh links, then collect."""
    inputs = evalset.linked(work)
    seconds = timed([str(exe), str(inputs)])
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for path in inputs.glob("*_anonymized.*"):
        shutil.move(path, out / (path.name.replace("_anonymized.", ".")))
    return seconds


def run(evalset: EvalSet, out: Path, quick: bool) -> dict:
    exe = ensure_venv()
    work = out / "deface"
    inputs = evalset.linked(work / "inputs")
    outputs = {"ours": work / "ours", "deface": work / "deface"}
    seconds: dict[str, list[float]] = {"ours": [], "deface": []}
    for _ in range(1 if quick else 2):
        seconds["ours"].append(run_ours(inputs, outputs["ours"]))
        seconds["deface"].append(run_deface(exe, evalset, work / "deface_inputs", outputs["deface"]))
    n = len(evalset.records)
    result: dict = {"images": n, "commands": {"ours": "python -m anonymiser FOLDER --out DIR --detect faces",
                                              "deface": "deface FOLDER"}}
    for tool, folder in outputs.items():
        scored = score_folder(evalset, folder, ["face"])
        result[tool] = {"seconds": seconds[tool], "ms_per_image": statistics.median(seconds[tool]) / n * 1000,
                        "face_leak": row(scored["rows"], "face"), **scored}
    result["ratio"] = result["deface"]["ms_per_image"] / result["ours"]["ms_per_image"]
    return result


def versus_deface(evalset: EvalSet, out: Path, variants: tuple[str, ...], rounds: int) -> dict:
    """Whole-CLI wall time of each of our `variants` (see `run_ours`) relative to deface's default CLI.

    Each round runs deface, then every variant, over the same folder, so a round's ratios share the machine's
    load; the ratio reported is the median over rounds of ours / deface. Leaks are score.py's, on the labels a
    variant detects (deface is scored on faces: plates are not its job).
    """
    exe = ensure_venv()
    work = out / "versus_deface"
    inputs = evalset.linked(work / "inputs")
    seconds: dict[str, list[float]] = {"deface": [], **{v: [] for v in variants}}
    for _ in range(rounds):
        seconds["deface"].append(run_deface(exe, evalset, work / "deface_inputs", work / "deface"))
        for variant in variants:
            seconds[variant].append(run_ours(inputs, work / folder_name(variant), variant))
    result: dict = {"images": len(evalset.records), "rounds": rounds, "seconds": seconds, "variants": {}}
    for variant in ("deface", *variants):
        kinds = "faces" if variant == "deface" else variant.split()[0]
        labels = [{"faces": "face", "plates": "plate"}[k] for k in kinds.split(",")]
        scored = score_folder(evalset, work / folder_name(variant), labels)
        ratios = [ours / theirs for ours, theirs in zip(seconds[variant], seconds["deface"], strict=True)]
        result["variants"][variant] = {"ratio_to_deface": statistics.median(ratios), "labels": labels, **scored}
    return result


def folder_name(variant: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in variant)
