"""The scale benchmark's bookkeeping (the runs themselves start Ray: a benchmark, not a unit test)."""
from __future__ import annotations

import sys

from benchmarks.scale import identical, outputs, table, timed_run


def test_outputs_leave_out_the_manifest_run_report_and_temporary_files(tmp_path):
    for name in ["a.jpg", "sub/b.png", "_manifest.jsonl", "anonymiser-run.jsonl", "sub/.b.png.12.x.part"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(name.encode())
    assert sorted(p.relative_to(tmp_path).as_posix() for p in outputs(tmp_path)) == ["a.jpg", "sub/b.png"]


def test_identical_counts_byte_equal_outputs_only(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for folder, second in [(a, b"same"), (b, b"other")]:
        (folder / "sub").mkdir(parents=True)
        (folder / "one.jpg").write_bytes(b"same")
        (folder / "sub" / "two.jpg").write_bytes(second)
    assert identical(a, b) == 1


def test_timed_run_sees_the_first_output_before_the_process_ends(tmp_path):
    out = tmp_path / "out"
    script = (f"import pathlib, time; o = pathlib.Path({str(out)!r}); o.mkdir(); (o / 'a.jpg').write_bytes(b'x');"
              " time.sleep(1.0); (o / 'b.jpg').write_bytes(b'x'); import sys; print('2 done', file=sys.stderr)")
    result = timed_run([sys.executable, "-c", script], out)
    assert result["images"] == 2 and result["summary"] == "2 done"
    assert result["startup_s"] < result["wall_s"] - 0.8
    assert 0 < result["cpu_s"] < result["wall_s"]  # the child mostly slept


def test_table_gives_both_overhead_ratios():
    run = {"wall_s": 10.0, "startup_s": 2.0, "images": 9, "rate": 0.9, "steady_rate": 1.0, "cpu_s": 18.0,
           "startup_cpu_s": 2.0}
    ray = {**run, "rate": 0.45, "steady_rate": 0.8, "cpu_s": 32.0, "startup_cpu_s": 12.0}
    text = table({"local": run, "ray": ray}, same=9)
    assert "end to end: 2.00x" in text and "after start-up: 1.25x" in text and "9 of 9" in text
    assert "1.78x in all, 1.25x per image after start-up" in text and "| 2.00 |" in text and "| 2.50 |" in text
