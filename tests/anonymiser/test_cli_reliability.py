"""The CLI on folders: one output per input with --jobs, --skip-existing, and runs stopped by Ctrl-C, kill
or kill -9 that leave only whole files and resume where they stopped.

CI runs 100 images; the full-size check of the issue (500 images) is the same test:
    ANONYMISER_FOLDER_TEST_SIZE=500 .venv/bin/pytest -q tests/anonymiser/test_cli_reliability.py -k one_output
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anonymiser.cli import RUN_REPORT, main
from tests.conftest import ROOT

FOLDER_SIZE = int(os.environ.get("ANONYMISER_FOLDER_TEST_SIZE", 100))


def make_folder(folder: Path, count: int, size: tuple[int, int], fmt: str = "PNG") -> list[Path]:
    """`count` noise images spread over three subfolders; returns their paths relative to `folder`."""
    rng = np.random.default_rng(count)
    paths = []
    for i in range(count):
        path = Path(f"part{i % 3}") / f"img{i:04d}.{fmt.lower()}"
        (folder / path.parent).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(folder / path, fmt)
        paths.append(path)
    return paths


def outputs(out: Path) -> list[Path]:
    """Every visible output file, relative to `out` (hidden temporary files excluded)."""
    return sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file() and not p.name.startswith("."))


def assert_whole(path: Path) -> None:
    with Image.open(path) as im:
        im.load()  # raises on a truncated file


def test_a_folder_with_two_jobs_gives_exactly_one_output_per_input(tmp_path, capsys):
    inputs = make_folder(tmp_path / "in", FOLDER_SIZE, (64, 48))
    out = tmp_path / "out"
    code = main([str(tmp_path / "in"), "--out", str(out), "--jobs", "2", "--detect", "faces", "--report",
                 "--no-progress"])
    assert code == 0, capsys.readouterr().err
    expected = sorted(inputs + [p.with_suffix(".json") for p in inputs] + [Path(RUN_REPORT)])
    assert outputs(out) == expected  # none lost, none duplicated, nothing else
    assert not list(out.rglob("*.part"))
    for path in inputs:
        assert_whole(out / path)
    assert f"{FOLDER_SIZE} anonymised, 0 failed" in capsys.readouterr().err


def test_skip_existing_skips_done_images_and_needs_the_report_when_reports_are_asked(tmp_path, capsys):
    inputs = make_folder(tmp_path / "in", 6, (64, 48))
    out = tmp_path / "out"
    run = [str(tmp_path / "in"), "--out", str(out), "--detect", "faces", "--no-progress", "--skip-existing"]
    assert main(run) == 0
    assert main(run + ["--report"]) == 0  # outputs exist but reports do not: all redone
    assert "6 anonymised" in capsys.readouterr().err
    stamps = {p: (out / p).stat().st_mtime_ns for p in inputs}
    (out / inputs[2]).unlink()
    assert main(run + ["--report"]) == 0
    assert "1 anonymised, 0 failed, 5 skipped (output exists)" in capsys.readouterr().err
    assert all((out / p).stat().st_mtime_ns == stamps[p] for p in inputs if p != inputs[2])
    assert main(run + ["--format", "jpg"]) == 0  # another format: another output
    assert "6 anonymised" in capsys.readouterr().err


def test_stale_temporary_files_of_a_killed_run_are_removed(tmp_path):
    inputs = make_folder(tmp_path / "in", 2, (64, 48))
    out = tmp_path / "out"
    (out / "part0").mkdir(parents=True)
    stale = out / "part0" / ".img0000.png.99999999.x1y2.part"  # no process has this id (above Linux's pid_max)
    live = out / "part0" / f".img0000.png.{os.getpid()}.x1y2.part"  # a running writer's: left alone
    stale.write_bytes(b"half")
    live.write_bytes(b"half")
    assert main([str(tmp_path / "in"), "--out", str(out), "--detect", "faces", "--no-progress"]) == 0
    assert not stale.exists() and live.exists()
    assert outputs(out) == sorted(inputs)


def as_in_a_terminal() -> None:
    """Ctrl-C's default action, as in a terminal: a shell that started these tests in the background (`cmd &`)
    passes SIGINT on as ignored, and Python then never raises KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(folder: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "anonymiser", str(folder), "--out", str(out), "--jobs", "2",
                             "--detect", "faces", "--no-progress", *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=as_in_a_terminal)


def wait_for_outputs(out: Path, count: int, process: subprocess.Popen, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while not out.exists() or len(outputs(out)) < count:
        assert process.poll() is None, f"the run ended before it could be interrupted: {process.communicate()}"
        assert time.monotonic() < end, "no outputs appeared"
        time.sleep(0.01)


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["ctrl-c", "kill", "kill-9"])
def test_an_interrupted_run_leaves_whole_files_and_resumes(tmp_path, stop):
    count = 40
    inputs = make_folder(tmp_path / "in", count, (480, 360), "JPEG")
    out = tmp_path / "out"
    first = start(tmp_path / "in", out)
    wait_for_outputs(out, 3, first)
    first.send_signal(stop)
    _, err = first.communicate(timeout=120)
    if stop == signal.SIGKILL:
        assert first.returncode == -signal.SIGKILL
    else:
        assert first.returncode == 130 and "Traceback" not in err
        assert "interrupted" in err and "rerun with --skip-existing" in err
        assert not list(out.rglob("*.part"))  # the images in progress finished their writes, the rest never started
    done = outputs(out)
    assert 3 <= len(done) < count
    for path in done:
        assert_whole(out / path)
    stamps = {p: (out / p).stat().st_mtime_ns for p in done}

    second = start(tmp_path / "in", out, "--skip-existing")
    _, err = second.communicate(timeout=600)
    assert second.returncode == 0, err
    assert f"{count - len(done)} anonymised, 0 failed, {len(done)} skipped (output exists)" in err
    assert outputs(out) == sorted(p.with_suffix(".jpg") for p in inputs)
    assert not list(out.rglob("*.part"))
    assert all((out / p).stat().st_mtime_ns == stamps[p] for p in done)  # done ones were not redone
