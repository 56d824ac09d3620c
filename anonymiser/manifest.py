"""`OUT/_manifest.jsonl`: one row per input (path, status, reason, output, regions, seconds), so a batch of
millions of photos can be audited afterwards and resumed after a crash.

Rows are appended as images finish (a killed run keeps every row it wrote; a torn last line is ignored) and
the file is rewritten with one row per input when the run ends. On an object store, which cannot append, the
whole file is uploaded every `flush_seconds` and at the end. A rerun skips the inputs marked done whose output
(and report, when asked for) exists, and retries the others.
"""
from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from anonymiser.images import ImageError, one_line
from anonymiser.storage import Location, existing, read_bytes, write_bytes

MANIFEST = "_manifest.jsonl"
STATUSES = ("done", "failed", "skipped")


@dataclass(frozen=True)
class Row:
    path: str  # the input, as the user named it (folder + relative path, or URI)
    status: str  # done, failed or skipped
    reason: str = ""  # one sentence when failed or skipped
    output: str = ""  # path under OUT of the anonymised file, "" when none was written
    regions: int = 0  # regions anonymised
    seconds: float = 0.0  # time spent on this image (read, detect, render, encode, write)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def failure_reason(exc: BaseException) -> str:
    """One sentence for a failed image: the user's message for unusable input, the error's type otherwise."""
    return one_line(exc) if isinstance(exc, ImageError) else f"{type(exc).__name__}: {one_line(exc)}"


def parse_rows(text: str) -> dict[str, Row]:
    """The last row of each input; lines that do not parse (a run killed mid-line) are ignored."""
    rows: dict[str, Row] = {}
    for line in text.splitlines():
        try:
            row = Row(**json.loads(line))
        except (ValueError, TypeError):
            continue
        rows[row.path] = row
    return rows


class Manifest:
    """The manifest of one output folder: read at the start of a run, recorded into as images finish."""

    def __init__(self, out: Location, flush_seconds: float = 30.0):
        self.out = out
        self.path = out.join(MANIFEST)
        self.flush_seconds = flush_seconds
        try:
            self.rows = parse_rows(read_bytes(out.fs, self.path).decode("utf-8", "replace"))
        except (FileNotFoundError, OSError):
            self.rows = {}
        self.previous = dict(self.rows)
        self.counts: Counter[str] = Counter()
        self.started = time.perf_counter()
        self.first: float | None = None  # seconds from the start to the first image processed (start-up)
        self.flushed = time.monotonic()
        self.handle = None

    def finished(self, paths: list[str], with_report: bool) -> set[str]:
        """Those of `paths` that an earlier run marked done and whose output (and report) is still there."""
        present = existing(self.out)
        done = set()
        for path in paths:
            row = self.previous.get(path)
            if row is None or row.status != "done" or row.output not in present:
                continue
            if not with_report or str(PurePosixPath(row.output).with_suffix(".json")) in present:
                done.add(path)
        return done

    def skip(self, paths: set[str]) -> None:
        """Count inputs left alone because an earlier run did them (their rows stay as they were)."""
        self.counts["skipped"] += len(paths)

    def record(self, row: Row) -> None:
        self.rows[row.path] = row
        self.counts[row.status] += 1
        if self.first is None and row.status in ("done", "failed") and row.seconds:
            self.first = time.perf_counter() - self.started
        if self.out.local:
            if self.handle is None:
                Path(self.out.path).mkdir(parents=True, exist_ok=True)
                self.handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the run
            self.handle.write(json.dumps(row.to_json()) + "\n")
            self.handle.flush()
        elif time.monotonic() - self.flushed > self.flush_seconds:
            self.write()

    def write(self) -> None:
        """Replace the file with one row per input (atomic: a temporary file renamed, or one upload)."""
        text = "".join(json.dumps(row.to_json()) + "\n" for row in self.rows.values())
        write_bytes(self.out, MANIFEST, text.encode())
        self.flushed = time.monotonic()

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
        if self.rows:
            self.write()

    def summary(self) -> str:
        """This run's counts, rate and start-up, e.g. `40 done, 1 failed, 4 skipped; 0.90 images/s over 50.0 s
        (first image after 9.5 s)`; skipped counts the inputs done before and those that are not images."""
        seconds = time.perf_counter() - self.started
        processed = self.counts["done"] + self.counts["failed"]
        rate = processed / seconds if seconds > 0 else 0.0
        startup = f" (first image after {self.first:.1f} s)" if self.first is not None else ""
        return (f"{self.counts['done']} done, {self.counts['failed']} failed, {self.counts['skipped']} skipped; "
                f"{rate:.2f} images/s over {seconds:.1f} s{startup}; manifest {self.out.display(self.path)}")


def totals(rows: dict[str, Row]) -> dict[str, int]:
    """How many inputs the manifest holds in each status."""
    counts = Counter(row.status for row in rows.values())
    return {status: counts[status] for status in STATUSES}
