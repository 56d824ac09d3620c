import json
import shutil
import subprocess
import sys

import numpy as np
from PIL import Image

from anonymiser.cli import main
from tests.conftest import ROOT


def test_folder_keeps_relative_paths_writes_reports_and_names_bad_files(tmp_path, eval_dir, capsys):
    src = tmp_path / "in"
    (src / "trip").mkdir(parents=True)
    shutil.copy(eval_dir / "images" / "mpl_grace_hopper.jpg", src / "trip" / "hopper.jpg")
    shutil.copy(eval_dir / "images" / "skimage_astronaut.png", src / "astronaut.png")
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    out = tmp_path / "out"
    code = main([str(src), "--out", str(out), "--report", "--no-progress", "--jobs", "2"])
    assert code == 1
    err = capsys.readouterr().err
    assert "broken.jpg" in err and "2 anonymised, 1 failed" in err
    assert (out / "trip" / "hopper.jpg").is_file() and (out / "astronaut.png").is_file()
    report = json.loads((out / "trip" / "hopper.json").read_text())
    assert report["counts"]["face"]["anonymised"] >= 1
    assert {"regions", "models", "metadata_removed", "timings_ms", "style"} <= report.keys()
    assert not list(out.rglob("*.part"))


def test_output_differs_only_around_the_face(tmp_path, eval_dir, annotations):
    out = tmp_path / "out"
    assert main([str(eval_dir / "images" / "mpl_grace_hopper.jpg"), "--out", str(out), "--format", "png",
                 "--no-progress"]) == 0
    a = np.asarray(Image.open(eval_dir / "images" / "mpl_grace_hopper.jpg").convert("RGB")).astype(int)
    b = np.asarray(Image.open(out / "mpl_grace_hopper.png").convert("RGB")).astype(int)
    changed = np.abs(a - b).max(axis=2) > 0
    x0, y0, x1, y1 = next(o["box"] for o in annotations["mpl_grace_hopper.jpg"]["objects"] if o["label"] == "face")
    near = np.zeros_like(changed)
    gx, gy = (x1 - x0) // 2, (y1 - y0) // 2
    near[max(0, y0 - gy):y1 + gy, max(0, x0 - gx):x1 + gx] = True
    assert changed[y0:y1, x0:x1].mean() > 0.5
    assert not changed[~near].any()


def test_unknown_kind_and_bad_threshold_are_usage_errors(tmp_path, capsys):
    assert main(["x.jpg", "--out", str(tmp_path), "--detect", "unicorns"]) == 2
    assert "unknown kind" in capsys.readouterr().err
    assert main(["x.jpg", "--out", str(tmp_path), "--threshold", "faces"]) == 2


def test_list_detectors_prints_one_line_per_detector():
    run = subprocess.run([sys.executable, "-m", "anonymiser", "--list-detectors"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert any(line.startswith("retinaface  ready  ") for line in lines)
    for line in lines:
        name, state = line.split("  ")[:2]
        assert state == "ready" or state.startswith("unavailable: "), line
