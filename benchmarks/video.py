"""`python -m benchmarks.run video`: our video mode side by side with deface's, on clips with exact ground truth.

Clips are generated from the dev stills at run time (benchmarks/clips.py): a camera panning and zooming over
a group photo (faces), and faces and plates pasted onto a blurred street and moved across it. Both tools run
as their command-line programs (start-up and model loading included), alternating, in one run; fps = frames
of the clip / wall-clock seconds. A frame leaks when any true face or plate in it keeps >= 30% of its detail
(score.py's measure, against the same frame of the input clip). Peak RSS is the process's own maximum
resident size, for a 10 s and a 60 s clip of the same scene (memory must not grow with the length).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks.clips import Clip, camera_frames, pasted_frames, sprite, write_clip
from benchmarks.deface_compare import ensure_venv
from benchmarks.evalset import DEFAULT_EVAL, ROOT, load_eval, load_scorer, read_rgb

# Runs `argv[1:]` and prints its wall-clock seconds and the child's peak RSS (KiB on Linux) as JSON.
MEASURE = ("import json, resource, subprocess, sys, time; t = time.perf_counter(); "
           "done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
           "print(json.dumps({'seconds': time.perf_counter() - t, 'code': done.returncode, "
           "'rss_kib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, 'err': done.stderr[-400:]}))")


def objects(records: dict, name: str, label: str) -> list[list[float]]:
    return [o["box"] for o in records[name]["objects"] if o["label"] == label and not o.get("hard")]


def make_clips(eval_dir: Path, work: Path, seconds: int, quick: bool) -> dict[str, Clip]:
    """name -> clip; `seconds` for the two scored clips, plus the 10 s and 60 s memory clips."""
    evalset = load_eval(eval_dir)
    records = {r["file"]: r for r in evalset.records}
    image = {name: read_rgb(evalset.images / name) for name in
             ("faceapi_sample1.jpg", "mpl_grace_hopper.jpg", "skimage_astronaut.png", "ultra_zidane.jpg",
              "litealpr_carlong_0008.png", "litealpr_carlong_0130.png", "litealpr_wild01.png")}
    size, fps = (640, 360), 15
    group = [("face", box) for box in objects(records, "faceapi_sample1.jpg", "face")]
    clips = {"camera, faces": write_clip(work / "camera.mov", camera_frames(image["faceapi_sample1.jpg"], group,
                                                                           size, seconds * fps), size, fps)}
    sprites = [sprite(image["mpl_grace_hopper.jpg"], "face", objects(records, "mpl_grace_hopper.jpg", "face")[0],
                      (-60, 40), (660, 80), scale=0.35),
               sprite(image["skimage_astronaut.png"], "face", objects(records, "skimage_astronaut.png", "face")[0],
                      (560, 200), (40, 150), scale=0.6),
               sprite(image["ultra_zidane.jpg"], "face", objects(records, "ultra_zidane.jpg", "face")[0],
                      (300, -40), (260, 260), scale=0.4),
               sprite(image["litealpr_carlong_0008.png"], "plate",
                      objects(records, "litealpr_carlong_0008.png", "plate")[0], (20, 230), (420, 210), margin=1.2),
               sprite(image["litealpr_carlong_0130.png"], "plate",
                      objects(records, "litealpr_carlong_0130.png", "plate")[0], (470, 10), (120, 40), margin=1.2)]
    street = cv2.GaussianBlur(image["litealpr_wild01.png"], (0, 0), 8)  # its own plates unreadable: not truth
    clips["pasted, faces+plates"] = write_clip(work / "pasted.mov", pasted_frames(street, sprites, size,
                                                                                 seconds * fps), size, fps)
    small, slow = (480, 270), 10
    for length in (10, 60) if not quick else (5, 30):
        clips[f"memory {length} s"] = write_clip(work / f"memory{length}.mov", camera_frames(
            image["faceapi_sample1.jpg"], group, small, length * slow), small, slow)
    return clips


def measure(command: list[str]) -> dict:
    """Seconds, peak RSS and exit code of `command` (a failed run is reported, not fatal)."""
    done = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout)


def ours(clip: Clip, out: Path, kinds: str) -> tuple[dict, Path]:
    target = out / f"ours-{kinds.replace(',', '+')}"
    result = measure([sys.executable, "-m", "anonymiser", str(clip.path), "--out", str(target), "--detect", kinds,
                      "--no-progress"])
    return result, target / f"{clip.path.stem}.mp4"


def deface(exe: Path, clip: Clip, out: Path) -> tuple[dict, Path]:
    target = out / f"deface-{clip.path.stem}.mp4"
    return measure([str(exe), str(clip.path), "-o", str(target)]), target


def decoded(path: Path) -> list[np.ndarray]:
    import av

    with av.open(str(path)) as container:
        return [f.to_ndarray(format="gray").astype(np.float64) for f in container.decode(video=0)]


def leaked_frames(scorer, clip: Clip, source: list[np.ndarray], output: list[np.ndarray], labels: set[str]) -> int:
    count = 0
    for truth, before, after in zip(clip.truth, source, output, strict=False):
        for label, box in truth:
            x0, y0, x1, y1 = scorer.core([int(round(v)) for v in box])
            if label in labels and x1 - x0 >= 2 and y1 - y0 >= 2 and \
                    scorer.detail_kept(before, after, (x0, y0, x1, y1)) >= scorer.LEAK_DETAIL:
                count += 1
                break
    return count


def row(tool: str, clip_name: str, clip: Clip, timing: dict, leaks: dict[str, int | None]) -> dict:
    return {"clip": clip_name, "tool": tool, "frames": clip.frames, "fps": round(clip.frames / timing["seconds"], 2),
            "leaked_frames": leaks, "peak_rss_mb": round(timing["rss_kib"] / 1024)}


def run(eval_dir: Path, seconds: int, quick: bool) -> list[dict]:
    scorer = load_scorer(eval_dir)
    try:
        exe = ensure_venv()
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"deface unavailable ({exc}); ours only", file=sys.stderr)
        exe = None
    rows = []
    with tempfile.TemporaryDirectory(prefix="video-bench-") as tmp:
        work = Path(tmp)
        clips = make_clips(eval_dir, work, seconds, quick)
        for name, clip in clips.items():
            print(f"  {name}: {clip.frames} frames", file=sys.stderr, flush=True)
            source = decoded(clip.path) if not name.startswith("memory") else []
            runs = [("ours, faces", *ours(clip, work, "faces"))]
            if name.startswith("pasted"):
                runs.append(("ours, faces+plates", *ours(clip, work, "faces,plates")))
            if exe is not None:
                runs.append(("deface", *deface(exe, clip, work)))
            for tool, timing, output in runs:
                if timing["code"]:
                    print(f"  {tool} failed on {name}: {timing['err'].strip()}", file=sys.stderr)
                    continue
                frames = decoded(output) if source else []
                leaks = {group: leaked_frames(scorer, clip, source, frames, labels) if source else None
                         for group, labels in (("face", {"face"}), ("face or plate", {"face", "plate"}))}
                rows.append(row(tool, name, clip, timing, leaks))
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| clip | tool | frames | fps | frames leaking a face | ... a face or plate | peak RSS MB |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        face, any_ = (("-" if v is None else v) for v in r["leaked_frames"].values())
        lines.append(f"| {r['clip']} | {r['tool']} | {r['frames']} | {r['fps']} | {face} | {any_} | "
                     f"{r['peak_rss_mb']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run video", description=__doc__.splitlines()[0])
    p.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="evaluation folder (default ../shared/eval)")
    p.add_argument("--seconds", type=int, default=10, help="length of the two scored clips (default 10)")
    p.add_argument("--quick", action="store_true", help="3 s scored clips, 5 s and 30 s memory clips")
    p.add_argument("--json", type=Path, help="also write the rows here")
    args = p.parse_args(argv)
    started = time.time()
    rows = run(args.eval, 3 if args.quick else args.seconds, args.quick)
    print(table(rows))
    print(f"\n{round(time.time() - started)} s; shared machine: compare the rows of one run, not across runs.")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0
