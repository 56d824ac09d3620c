"""The manifest (what a resumed run trusts), storage locations and per-image seeds, without Ray."""
from __future__ import annotations

import json

import pytest

from anonymiser.manifest import MANIFEST, Manifest, Row, parse_rows, totals
from anonymiser.seeds import image_seed
from anonymiser.storage import list_files, locate, write_bytes


def test_the_last_row_of_an_input_wins_and_a_torn_line_is_ignored():
    text = (json.dumps(Row("a.jpg", "failed", "broken").to_json()) + "\n"
            + json.dumps(Row("a.jpg", "done", output="a.jpg", regions=2).to_json()) + "\n"
            + '{"path": "b.jpg", "stat')  # the driver was killed mid-line
    rows = parse_rows(text)
    assert list(rows) == ["a.jpg"] and rows["a.jpg"].status == "done" and rows["a.jpg"].regions == 2


def test_only_done_rows_whose_output_and_report_exist_are_finished(tmp_path):
    out = locate(tmp_path)
    manifest = Manifest(out)
    for row in [Row("in/a.jpg", "done", output="a.jpg"), Row("in/b.jpg", "done", output="b.jpg"),
                Row("in/c.jpg", "failed", "broken"), Row("in/d.jpg", "done", output="sub/d.jpg")]:
        manifest.record(row)
    manifest.close()
    write_bytes(out, "a.jpg", b"x")
    write_bytes(out, "sub/d.jpg", b"x")
    write_bytes(out, "sub/d.json", b"{}")
    again = Manifest(locate(tmp_path))
    paths = ["in/a.jpg", "in/b.jpg", "in/c.jpg", "in/d.jpg", "in/e.jpg"]
    assert again.finished(paths, with_report=False) == {"in/a.jpg", "in/d.jpg"}  # b's output is gone
    assert again.finished(paths, with_report=True) == {"in/d.jpg"}
    assert totals(again.rows) == {"done": 3, "failed": 1, "skipped": 0}
    assert len((tmp_path / MANIFEST).read_text().splitlines()) == 4


def test_summary_counts_this_run_only(tmp_path):
    manifest = Manifest(locate(tmp_path))
    manifest.skip({"x", "y"})
    manifest.record(Row("a", "done", output="a.jpg", seconds=0.5))
    manifest.record(Row("b", "failed", "it is broken", seconds=0.1))
    assert manifest.summary().startswith("1 done, 1 failed, 2 skipped; ")
    assert "first image after" in manifest.summary()


def test_storage_lists_files_without_hidden_ones_and_writes_atomically(tmp_path):
    for name in ["a.jpg", "sub/b.png", ".DS_Store", "sub/.c.jpg.123.x.part", ".git/d.jpg"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    folder = locate(tmp_path)
    assert [rel for _, rel in list_files(folder)] == ["a.jpg", "sub/b.png"]
    write_bytes(folder, "new/e.jpg", b"data")
    assert (tmp_path / "new" / "e.jpg").read_bytes() == b"data"
    assert not list((tmp_path / "new").glob(".*.part"))


def test_fsspec_schemes_pyarrow_does_not_know_still_open():
    memory = locate("memory://bucket/photos")
    write_bytes(memory, "a.jpg", b"bytes")
    assert [rel for _, rel in list_files(locate("memory://bucket/photos"))] == ["a.jpg"]
    assert memory.display(memory.join("a.jpg")).startswith("memory://")


def test_a_seed_depends_on_the_run_seed_and_the_relative_path_only():
    assert image_seed(None, "a") is None
    assert image_seed(7, "sub/a") == image_seed(7, "sub/a")
    assert len({image_seed(7, "sub/a"), image_seed(7, "sub/b"), image_seed(8, "sub/a")}) == 3


def test_a_bad_uri_fails_with_one_sentence():
    with pytest.raises(ValueError, match="no filesystem"):
        locate("nosuchscheme://x/y")
