"""`--engine ray`: the CLI's batch on Ray Data, from one machine to a cluster, with the local engine's
output layout (OUT/<relative stem>.<ext>) and manifest.

Ray Data reads the inputs as bytes (`read_binary_files`, local folders or any pyarrow/fsspec URI); a pool of
actors (`map_batches` with a class) each loads the detectors once and runs `anonymise_bytes` on many images,
writing each output atomically where it is produced, so only bytes and one manifest row per image travel. The
driver streams the rows into the manifest as they come: a killed run loses only its in-flight images, and the
same command resumes it. Images are never decoded on the driver.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path, PurePosixPath
from typing import Any

import ray
import ray.data

from anonymiser.images import remove_stale_parts
from anonymiser.inputs import IMAGE, IMAGE_SUFFIXES, collect
from anonymiser.manifest import Manifest, Row, failure_reason
from anonymiser.pipeline import anonymise_bytes
from anonymiser.seeds import image_seed
from anonymiser.settings import Settings
from anonymiser.storage import kind, list_files, locate, write_bytes

ROW_FIELDS = [f.name for f in fields(Row)]
READERS_PER_WORKER = 8  # one reading process per 8 actors: a photo takes far longer to anonymise than to read


@dataclass(frozen=True)
class Root:
    """One input as the user named it: a folder (its files keep their path under it) or a single file."""
    path: str  # inside the filesystem
    display: str
    folder: bool

    def relative(self, path: str) -> str | None:
        """`path` relative to this input (a file input: its name), or None when it is not under it."""
        if not self.folder:
            return PurePosixPath(path).name if path == self.path else None
        return path[len(self.path) + 1:] if path.startswith(self.path.rstrip("/") + "/") else None

    def show(self, relative: str) -> str:
        if not self.folder:
            return self.display
        return self.display.rstrip("/") + "/" + relative if "://" in self.display else str(Path(self.display, relative))


def source_of(roots: tuple[Root, ...], path: str) -> tuple[str, str]:
    """(the input as the user would name it, its path relative to its input) of a path to read; the first
    input that holds it wins when inputs overlap."""
    return next((root.show(rel), rel) for root in roots if (rel := root.relative(path)) is not None)


@dataclass(frozen=True)
class Task:
    """What every actor needs: the same for all images of a run."""
    settings: Settings
    out: str
    roots: tuple[Root, ...]
    seed: int | None
    with_report: bool


def plan(inputs: list[str], out: str) -> tuple[Any, list[str], tuple[Root, ...], list[Row]]:
    """(filesystem, paths to read, roots, rows of inputs skipped or failed before reading).

    Local inputs are collected as the local engine does (anonymiser.inputs); on an object store a folder's
    files are jobs when their suffix is an image's, named as skipped otherwise (opening every object to sniff
    its format would cost a request each)."""
    locations = [locate(item) for item in inputs]
    filesystems = {type(loc.fs).__name__ for loc in locations}
    if len(filesystems) > 1:
        raise ValueError("give inputs on one filesystem per run (all local, or all under one URI scheme)")
    fs = locations[0].fs
    roots, paths, rows = [], [], []
    if all(loc.local for loc in locations):
        found = collect([Path(item) for item in inputs], None if "://" in out else Path(out))
        rows += [Row(str(p), "failed", reason) for p, reason in found.failures]
        rows += [Row(str(p), "skipped", reason) for p, reason in found.skipped]
        roots = [Root(loc.path, item, kind(loc) == "dir") for item, loc in zip(inputs, locations, strict=True)]
        rows += [Row(str(job.source), "skipped", "videos need --engine local") for job in found.jobs
                 if job.kind != IMAGE]
        paths = [os.path.abspath(job.source) for job in found.jobs if job.kind == IMAGE]
        return fs, paths, tuple(roots), rows
    target = locate(out)
    inside_out = (target.path.rstrip("/") + "/") if type(target.fs) is type(fs) else None
    for item, loc in zip(inputs, locations, strict=True):
        state = kind(loc)
        if state == "missing" or (state == "dir" and loc.path == target.path and inside_out):
            reason = "no such file or folder" if state == "missing" else "it is the output folder"
            rows.append(Row(item, "failed", reason))
            continue
        root = Root(loc.path, loc.display(loc.path), state == "dir")
        roots.append(root)
        for path, relative in list_files(loc) if root.folder else [(loc.path, PurePosixPath(loc.path).name)]:
            if inside_out and path.startswith(inside_out):
                continue  # an earlier run's outputs, never inputs
            if PurePosixPath(relative).suffix.lower() in IMAGE_SUFFIXES:
                paths.append(path)
            else:
                rows.append(Row(root.show(relative), "skipped", "its suffix is not one of an image format"))
    return fs, paths, tuple(roots), rows


class Anonymise:
    """The actor: loads the detectors once, then anonymises batches of (path, bytes) rows."""

    def __init__(self, task: Task):
        import warnings

        import numpy as np

        from detectors.engine import detect
        from detectors.registry import default_registry

        warnings.filterwarnings("ignore", module=r"PIL\.")
        self.task = task
        self.registry = default_registry()
        self.out = locate(task.out)
        blank = np.zeros((64, 64, 3), np.uint8)  # load the models now, not inside the first image's time
        detect(blank, task.settings.kinds, task.settings.thresholds, self.registry)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        rows = [self.one(str(path), bytes(data)) for path, data in zip(batch["path"], batch["bytes"], strict=True)]
        return {name: [getattr(row, name) for row in rows] for name in ROW_FIELDS}

    def one(self, path: str, data: bytes) -> Row:
        start = time.perf_counter()
        source, relative = source_of(self.task.roots, path)
        stem = PurePosixPath(relative).with_suffix("")
        try:
            outcome = anonymise_bytes(data, self.task.settings, self.registry, source=source,
                                      seed=image_seed(self.task.seed, stem))
            output = f"{stem}.{outcome.extension}"
            write_bytes(self.out, output, outcome.data)
            if self.task.with_report:
                write_bytes(self.out, f"{stem}.json", json.dumps(outcome.report, indent=1).encode())
        except Exception as exc:  # one bad image must not stop the others; its row says why
            return Row(source, "failed", failure_reason(exc), seconds=round(time.perf_counter() - start, 3))
        regions = sum(r["selected"] for r in outcome.report["regions"])
        return Row(source, "done", "", output, regions, round(time.perf_counter() - start, 3))


def connect(address: str | None) -> bool:
    """Join the cluster at `address` (or RAY_ADDRESS), else start a local Ray; True when this call started it.

    On a remote cluster the workers get this project's code with the job (`py_modules`); its packages
    (requirements*.txt) must be installed on the nodes' image."""
    if ray.is_initialized():
        return False
    import logging

    import anonymiser
    import detectors

    joining = address not in (None, "", "local") or bool(os.environ.get("RAY_ADDRESS"))
    if joining:
        options = {"runtime_env": {"py_modules": [Path(anonymiser.__file__).parent, Path(detectors.__file__).parent]}}
    else:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no telemetry from the Ray this run starts
        options = {"include_dashboard": False}
    ray.init(address=address or None, logging_level=logging.ERROR, log_to_driver=False, **options)
    return True


def run(inputs: list[str], out: str, settings: Settings, *, seed: int | None = None, with_report: bool = False,
        workers: int | None = None, cpus_per_worker: float = 1.0, address: str | None = None,
        progress: bool = True) -> int:
    """Anonymise `inputs` into `out` on Ray; prints failures and a summary to stderr; returns the exit code."""
    fs, paths, roots, early = plan(inputs, out)
    manifest = Manifest(locate(out))
    if manifest.out.local:
        remove_stale_parts(Path(manifest.out.path))  # temporary files of workers killed mid-write
    sources = {path: source_of(roots, path) for path in paths}
    owners: dict[PurePosixPath, str] = {}
    for path, (name, relative) in list(sources.items()):
        owner = owners.setdefault(PurePosixPath(relative).with_suffix(""), name)
        if owner != name:  # photo.jpg and photo.png: stricter than the local engine, which knows the formats
            del sources[path]
            early.append(Row(name, "failed", f"its output would also be the output of {owner}; rename one of them"))
    for row in early:
        manifest.record(row)
        print(f"{row.status}: {row.path}: {row.reason}", file=sys.stderr)
    finished = manifest.finished([name for name, _ in sources.values()], with_report)
    manifest.skip(finished)
    todo = [path for path, (name, _) in sources.items() if name not in finished]
    started = False
    try:
        if todo:
            started = connect(address)
            for row in stream(fs, todo, Task(settings, out, roots, seed, with_report), workers,
                              cpus_per_worker, progress):
                manifest.record(row)
                if row.status == "failed":
                    print(f"failed: {row.path}: {row.reason}", file=sys.stderr)
    finally:
        manifest.close()
        if started:
            ray.shutdown()
    print(f"{manifest.summary()}; outputs in {out}", file=sys.stderr)
    return 1 if manifest.counts["failed"] else 0


def stream(fs: Any, paths: list[str], task: Task, workers: int | None, cpus_per_worker: float,
           progress: bool):
    """The rows of `paths` as actors finish them (Ray Data's streaming execution)."""
    import logging

    logging.getLogger("ray.data").setLevel(logging.WARNING if progress else logging.ERROR)  # no plan, no log path
    ray.data.DataContext.get_current().enable_progress_bars = progress
    if workers is None:
        workers = max(1, int(ray.cluster_resources().get("CPU", 1) // cpus_per_worker))
    # Reading is I/O: it takes no CPU slot from the actors, but a bounded number of processes (each task at
    # num_cpus=0 without a bound would get a Python worker of its own: 14 of them seen on 2 CPUs).
    readers = max(1, workers // READERS_PER_WORKER)
    dataset = ray.data.read_binary_files(paths, filesystem=fs, include_paths=True, num_cpus=0, concurrency=readers,
                                         override_num_blocks=min(len(paths), 64 * workers))
    rows = dataset.map_batches(Anonymise, fn_constructor_args=(task,), batch_size=1, batch_format="numpy",
                               compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=cpus_per_worker)
    for batch in rows.iter_batches(batch_size=1, batch_format="pandas", prefetch_batches=0):
        for record in batch.to_dict("records"):
            yield Row(str(record["path"]), str(record["status"]), str(record["reason"]), str(record["output"]),
                      int(record["regions"]), float(record["seconds"]))
