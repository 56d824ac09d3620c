"""`python -m benchmarks.run scale`: the CLI's two engines on the same photos in one run, side by side:
`--engine local --jobs N` and `--engine ray --workers N`, each a fresh process as a user runs it.

For each: wall time, images per second end to end, start-up (until the first output appears: imports, model
loading and, for Ray, starting the cluster and its actors), images per second after start-up, the CPU time of
the whole process tree (Ray's own processes included), and Ray's overhead as ratios (goal: within 1.2x of
local on one machine). On a shared machine wall times swing with the others' load; CPU time much less.
Both run with `--seed 7`, so the table also says how many outputs are byte-identical between the engines.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.evalset import DEFAULT_EVAL, ROOT, load_eval

POLL_S = 0.2
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def outputs(out: Path) -> list[Path]:
    """Finished outputs: no manifest, run report or hidden temporary file."""
    return [p for p in out.rglob("*") if p.is_file() and not p.name.startswith((".", "_", "anonymiser-run"))]


def cpu_seconds(root: int) -> dict[int, float]:
    """CPU seconds (user + system) so far of `root` and every process descending from it, by pid."""
    parents, used = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        used[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    tree, grew = {root}, True
    while grew:
        below = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= below
        grew = bool(below)
    return {pid: used[pid] for pid in tree if pid in used}


def timed_run(command: list[str], out: Path) -> dict:
    """Run `command`, watching `out` for the first output and its process tree's CPU time (Ray's own
    processes included: they are children of the driver); wall and start-up seconds, outputs written."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    first, cpu, cpu_first = None, {}, None
    while process.poll() is None:
        cpu |= cpu_seconds(process.pid)  # a process's figure only grows: the last one seen is its total
        if first is None and out.is_dir() and outputs(out):
            first, cpu_first = time.perf_counter() - start, sum(cpu.values())
        time.sleep(POLL_S)
    wall = time.perf_counter() - start
    err = process.stderr.read()
    written = len(outputs(out))
    if process.returncode not in (0, 1) or not written:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}): {err[-2000:]}")
    first = wall if first is None else first
    return {"wall_s": wall, "startup_s": first, "images": written, "rate": written / wall,
            "cpu_s": sum(cpu.values()), "startup_cpu_s": cpu_first or 0.0,
            "steady_rate": (written - 1) / (wall - first) if written > 1 and wall > first else None,
            "summary": err.strip().splitlines()[-1]}


def identical(a: Path, b: Path) -> int:
    return sum((b / p.relative_to(a)).is_file() and p.read_bytes() == (b / p.relative_to(a)).read_bytes()
               for p in outputs(a))


def per_image_cpu(run: dict) -> float:
    """CPU seconds per image once the first output is out: what a large batch pays per photo."""
    return (run["cpu_s"] - run["startup_cpu_s"]) / max(run["images"] - 1, 1)


def table(results: dict[str, dict], same: int) -> str:
    local, ray = results["local"], results["ray"]
    rows = ["| engine | images | wall s | start-up s | images/s (end to end) | images/s after start-up "
            "| CPU s (all processes) | of which start-up | CPU s per image after start-up |",
            "|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        steady = f"{r['steady_rate']:.2f}" if r["steady_rate"] else "-"
        rows.append(f"| {name} | {r['images']} | {r['wall_s']:.1f} | {r['startup_s']:.1f} | {r['rate']:.2f} "
                    f"| {steady} | {r['cpu_s']:.0f} | {r['startup_cpu_s']:.0f} | {per_image_cpu(r):.2f} |")
    lines = ["\n".join(rows), "",
             f"Ray overhead, end to end: {local['rate'] / ray['rate']:.2f}x local's time per image",
             f"Ray overhead in CPU time (what a loaded machine distorts least): {ray['cpu_s'] / local['cpu_s']:.2f}x "
             f"in all, {per_image_cpu(ray) / per_image_cpu(local):.2f}x per image after start-up (goal <= 1.2x)"]
    if local["steady_rate"] and ray["steady_rate"]:
        lines.append(f"Ray overhead after start-up: {local['steady_rate'] / ray['steady_rate']:.2f}x")
    lines.append(f"Outputs byte-identical between the engines (--seed 7): {same} of {local['images']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run scale", description=__doc__.splitlines()[0])
    p.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="evaluation folder (default ../shared/eval)")
    p.add_argument("--images", type=int, help="at most this many photos of the set, spread evenly (default all)")
    p.add_argument("--workers", type=int, default=2, help="local --jobs and Ray --workers (default 2)")
    p.add_argument("--detect", default="faces,plates", help="kinds to find (default: the CLI's default)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="scale-") as work:
        work = Path(work)
        evalset = load_eval(args.eval).subset(args.images, work / "subset")
        photos = work / "photos"
        photos.mkdir()
        for record in evalset.records:
            shutil.copyfile(evalset.path(record), photos / Path(record["file"]).name)
        common = [sys.executable, "-m", "anonymiser", str(photos), "--detect", args.detect, "--seed", "7",
                  "--no-progress"]
        engines = {"local": ["--engine", "local", "--jobs", str(args.workers)],
                   "ray": ["--engine", "ray", "--workers", str(args.workers)]}
        results = {}
        for name, flags in engines.items():
            print(f"== {name} ==", file=sys.stderr, flush=True)
            results[name] = timed_run([*common, "--out", str(work / name), *flags], work / name)
            print(results[name]["summary"], file=sys.stderr, flush=True)
        same = identical(work / "local", work / "ray")
    print(f"{len(evalset.records)} photos, --detect {args.detect}, {args.workers} workers; "
          "a shared, possibly loaded machine: compare the two rows, not the absolute figures\n")
    print(table(results, same))
    return 0
