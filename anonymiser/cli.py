"""`python -m anonymiser INPUT... --out DIR`: anonymise files and folders, one report per image.

Each bad file is named with its reason, on one line, and skipped; outputs are written atomically, so an
interrupted run (Ctrl-C, kill) leaves only complete outputs and `--skip-existing` resumes it. The exit code
is 1 when any input failed, 2 for a usage error, 130 when interrupted.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from anonymiser.images import OUTPUT_FORMATS, ImageError, one_line, output_format, remove_stale_parts, write_atomic
from anonymiser.inputs import VIDEO, Job, collect
from anonymiser.pipeline import anonymise_bytes
from anonymiser.privacy_check import anonymise_checked
from anonymiser.seeds import image_seed
from anonymiser.settings import Settings
from anonymiser.style import METHODS, SHAPES, STRENGTHS, Style
from anonymiser.video import VideoOptions, anonymise_video_file
from detectors.registry import Registry, default_registry

RUN_REPORT = "anonymiser-run.jsonl"  # never the name of an image's report (<stem>.json)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m anonymiser", description=__doc__.splitlines()[0])
    p.add_argument("inputs", nargs="*", type=path_or_uri,
                   help="image files or folders (searched recursively); with --engine ray also URIs (s3://...)")
    p.add_argument("--out", type=path_or_uri,
                   help="output folder (relative paths of folder inputs are kept); with --engine ray also a URI")
    p.add_argument("--detect", default="faces,plates",
                   help="kinds to find: faces,plates,people,vehicles,text,qr or any COCO class (default faces,plates)")
    p.add_argument("--prompt", help="also find what these comma-separated phrases name (needs a hub model)")
    p.add_argument("--method", default="auto", choices=METHODS)
    p.add_argument("--strength", default="strong", choices=STRENGTHS)
    p.add_argument("--shape", default="auto", choices=SHAPES)
    p.add_argument("--colour", "--color", default="black", help="fill colour: #rrggbb, r,g,b, black, white, grey")
    p.add_argument("--padding", type=float, default=Style().padding, help="fraction of a box added on each side")
    p.add_argument("--threshold", action="append", default=[], metavar="KIND=VALUE",
                   help="detection threshold for one kind, e.g. faces=0.4 (repeatable)")
    p.add_argument("--format", default="same", help="output format: same (default), png, jpg, webp, tiff, bmp")
    p.add_argument("--report", action="store_true",
                   help=f"write DIR/<stem>.json beside each output and DIR/{RUN_REPORT}, one line per input")
    p.add_argument("--jobs", type=jobs_count, default="auto", help="images processed at once (threads; models are "
                   "shared); auto (default): one per core, so one photo's decoding and encoding overlap another's "
                   "detection")
    p.add_argument("--skip-existing", action="store_true", help="skip inputs whose output already exists")
    p.add_argument("--seed", type=int, help="reproducible mosaics: an output depends only on the photo, the "
                   "settings and this number (default: fresh random noise each run)")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local (default) or ray: Ray Data on this machine or a cluster, resumable, with "
                        "DIR/_manifest.jsonl (install with ./setup.sh --ray)")
    p.add_argument("--ray-address", help="Ray cluster to join, e.g. auto (default: RAY_ADDRESS, else a local Ray)")
    p.add_argument("--workers", type=int, help="Ray actors, each with its own detectors (default: CPUs / "
                   "--cpus-per-worker)")
    p.add_argument("--cpus-per-worker", type=float, default=1.0, help="CPUs each Ray actor reserves (default 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--list-detectors", action="store_true", help="load every detector and print its state")
    p.add_argument("--track", action=argparse.BooleanOptionalAction, default=True,
                   help="videos: follow each object over frames and cover the frames its detector misses")
    p.add_argument("--keep-audio", action=argparse.BooleanOptionalAction, default=True,
                   help="videos: keep the sound (copied as it is, re-encoded only when MP4 cannot hold it)")
    p.add_argument("--stride", type=int, default=VideoOptions().stride,
                   help="videos: detect on every Nth frame (tracks fill the frames between)")
    p.add_argument("--recheck", action="store_true",
                   help="run the privacy check on each output and cover what it still finds (one more detection "
                        "pass and render per image: slower)")
    return p.parse_args(argv)


def jobs_count(text: str) -> int:
    """--jobs N, or auto: the cores this process may use."""
    if text == "auto":
        from detectors.onnx_session import cores

        return cores()
    return int(text)


def path_or_uri(text: str) -> Path | str:
    """A path, or a URI kept as text (Path would fold `s3://` into `s3:/`)."""
    return text if "://" in text else Path(text)


def build_settings(args: argparse.Namespace, registry: Registry) -> Settings:
    """Unknown kinds and bad thresholds fail here, before any file is touched."""
    return Settings.parse(args.detect, args.threshold, prompt=args.prompt, method=args.method,
                          strength=args.strength, colour=args.colour, shape=args.shape, padding=args.padding,
                          format=args.format, registry=registry)


def process(job: Job, out: Path, settings: Settings, registry: Registry, with_report: bool,
            claimed: dict[Path, Path], lock: threading.Lock, recheck: bool = False,
            video: VideoOptions | None = None, seed: int | None = None) -> str:
    if job.kind == VIDEO:
        target = claim(out / job.relative.with_name(f"{job.relative.name}.mp4"), job, claimed, lock)
        result = anonymise_video_file(job.source, target, settings, registry, video or VideoOptions(), with_report)
        return f"{sum(t.selected for t in result.tracks)} track(s) anonymised over {result.frames} frames"
    data = job.source.read_bytes()
    if recheck:
        outcome, _ = anonymise_checked(data, settings, registry, source=str(job.source), recheck=True,
                                       seed=image_seed(seed, job.relative))
    else:
        outcome = anonymise_bytes(data, settings, registry, source=str(job.source),
                                  seed=image_seed(seed, job.relative))
    target = claim(out / job.relative.with_name(f"{job.relative.name}.{outcome.extension}"), job, claimed, lock)
    write_atomic(target, outcome.data)
    if with_report:
        write_atomic(target.with_suffix(".json"), json.dumps(outcome.report, indent=1).encode())
    n = sum(r["selected"] for r in outcome.report["regions"])
    added = len(outcome.report.get("added_by_privacy_check", []))
    return f"{n} region(s) anonymised" + (f", {added} of them added by the privacy check" if added else "")


def claim(target: Path, job: Job, claimed: dict[Path, Path], lock: threading.Lock) -> Path:
    """`target`, unless another input of this run already writes it (photo.jpg and photo.png, say)."""
    with lock:
        owner = claimed.setdefault(target, job.source)
    if owner != job.source:
        raise ImageError(f"its output {target} is also the output of {owner}; rename one of them")
    return target


def run_report(anonymised: list[Path], failures: list[tuple[Path, str]], skipped: list[tuple[Path, str]],
               existing: list[Job]) -> bytes:
    """One JSON line per input, with what became of it and why: nothing a folder held goes unaccounted for."""
    rows = [{"input": str(path), "outcome": "anonymised"} for path in anonymised]
    rows += [{"input": str(path), "outcome": "failed", "reason": reason} for path, reason in failures]
    rows += [{"input": str(path), "outcome": "skipped", "reason": reason} for path, reason in skipped]
    rows += [{"input": str(job.source), "outcome": "skipped", "reason": "its output exists (--skip-existing)"}
             for job in existing]
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def run_ray(args: argparse.Namespace, settings: Settings) -> int:
    """`--engine ray` (anonymiser/ray_engine.py): resumable from DIR/_manifest.jsonl, so --skip-existing is implied."""
    try:
        from anonymiser import ray_engine
    except ImportError:
        print("error: --engine ray needs Ray: install it with ./setup.sh --ray", file=sys.stderr)
        return 2
    try:
        return ray_engine.run([str(item) for item in args.inputs], str(args.out), settings, seed=args.seed,
                              with_report=args.report, workers=args.workers, cpus_per_worker=args.cpus_per_worker,
                              address=args.ray_address, progress=not args.no_progress)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def list_detectors(registry: Registry) -> int:
    for status in registry.list_detectors(load=True):
        state = "ready" if status.state == "ready" else f"unavailable: {status.reason}"
        print(f"{status.name}  {state}  {status.description}")
    return 0


def existing_output(job: Job, out: Path, extensions: list[str], with_report: bool) -> bool:
    """Whether an earlier run wrote this job's output (and its report, when reports are asked for)."""
    stem = out / job.relative
    extensions = ["mp4"] if job.kind == VIDEO else extensions  # a clip's output is always MP4
    done = any(stem.with_name(f"{stem.name}.{ext}").is_file() for ext in extensions)
    return done and (not with_report or stem.with_name(f"{stem.name}.json").is_file())


def output_extensions(requested: str) -> list[str]:
    """Extensions an output can have: one for an explicit --format, any writable one for `same`."""
    if requested == "same":
        return sorted(set(OUTPUT_FORMATS.values()))
    return [OUTPUT_FORMATS[output_format(requested, "")]]


def raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Pillow warns about odd tags and near-bomb sizes; a file that fails is reported on its own line anyway.
    warnings.filterwarnings("ignore", module=r"PIL\.")
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, raise_interrupt) if in_main_thread else None  # kill = Ctrl-C
    try:
        return run(args)
    except KeyboardInterrupt:
        print("interrupted: every output written is complete; rerun with --skip-existing to continue",
              file=sys.stderr)
        return 130
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def run(args: argparse.Namespace) -> int:
    registry = default_registry()
    if args.list_detectors:
        return list_detectors(registry)
    if not args.inputs or args.out is None:
        print("error: give INPUT... and --out DIR (or --list-detectors)", file=sys.stderr)
        return 2
    try:
        settings = build_settings(args, registry)
        extensions = output_extensions(settings.format)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.engine == "ray":
        return run_ray(args, settings)
    if any(isinstance(item, str) for item in [*args.inputs, args.out]):
        print("error: URIs (s3://...) need --engine ray", file=sys.stderr)
        return 2
    found = collect(args.inputs, args.out)
    jobs, failures = found.jobs, found.failures
    for path, reason in failures:
        print(f"failed: {path}: {reason}", file=sys.stderr)
    for path, reason in found.skipped:
        print(f"skipped: {path}: {reason}", file=sys.stderr)
    remove_stale_parts(args.out)
    existing: list[Job] = []
    if args.skip_existing:
        existing = [j for j in jobs if existing_output(j, args.out, extensions, args.report)]
        already = set(existing)
        jobs = [j for j in jobs if j not in already]
    anonymised: list[Path] = []
    claimed: dict[Path, Path] = {}
    lock = threading.Lock()
    from tqdm import tqdm

    bar = tqdm(total=len(jobs), unit="img", disable=args.no_progress or not jobs, file=sys.stderr)
    pool = ThreadPoolExecutor(max_workers=max(1, args.jobs))
    try:
        video = VideoOptions(stride=max(1, args.stride), track=args.track, keep_audio=args.keep_audio)
        futures = {pool.submit(process, j, args.out, settings, registry, args.report, claimed, lock, args.recheck,
                               video, seed=args.seed): j for j in jobs}
        for future in as_completed(futures):
            job = futures[future]
            try:
                future.result()
                anonymised.append(job.source)
            except Exception as exc:  # one bad image must not stop the others; the reason is one line
                reason = one_line(exc) if isinstance(exc, ImageError) else f"{type(exc).__name__}: {one_line(exc)}"
                failures.append((job.source, reason))
                bar.write(f"failed: {job.source}: {reason}", file=sys.stderr)
            bar.update(1)
    except KeyboardInterrupt:
        bar.close()
        print(f"interrupted after {len(anonymised)} anonymised: finishing the images in progress", file=sys.stderr)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # queued images are dropped, running ones finish their write
    bar.close()
    position = {job.source: i for i, job in enumerate(jobs)}
    anonymised.sort(key=position.__getitem__)  # the inputs' order, whatever order the jobs finished in
    summary = f"{len(anonymised)} anonymised, {len(failures)} failed"
    if found.skipped:
        summary += f", {len(found.skipped)} skipped (not images we can read, named above)"
    if existing:
        summary += f", {len(existing)} skipped (output exists)"
    print(f"{summary}; outputs in {args.out}", file=sys.stderr)
    if args.report:
        write_atomic(args.out / RUN_REPORT, run_report(anonymised, failures, found.skipped, existing))
    return 1 if failures else 0
