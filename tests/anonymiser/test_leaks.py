"""The library's leak measure is score.py's: same numbers on the same pixels."""
import importlib.util

import numpy as np
import pytest
from PIL import Image

from anonymiser.leaks import core, detail_kept, details_kept, grey
from anonymiser.render import render
from anonymiser.style import Style
from detectors.regions import Regions


@pytest.fixture(scope="module")
def score(eval_dir):
    spec = importlib.util.spec_from_file_location("score", eval_dir / "score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_detail_kept_is_score_py_s_on_files(tmp_path, eval_dir, annotations, score):
    name = "litealpr_wild04.png"
    rgb = np.asarray(Image.open(eval_dir / "images" / name).convert("RGB"))
    boxes = np.asarray([o["box"] for o in annotations[name]["objects"]], np.float32)
    regions = Regions.create(boxes[::2], np.ones(len(boxes[::2])), "face", "test")
    output = render(rgb, regions, None, Style(method="mosaic", strength="light"), seed=0)
    Image.fromarray(output).save(tmp_path / "out.png")
    a, b = score.load_grey(eval_dir / "images" / name), score.load_grey(tmp_path / "out.png")
    np.testing.assert_array_equal(grey(rgb), a)
    h, w = a.shape
    theirs = [score.detail_kept(a, b, score.core(box)) for box in boxes]
    ours = details_kept(grey(rgb), grey(output), boxes)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(details_kept(rgb, output, boxes), theirs, rtol=0, atol=1e-12)  # cores made grey
    assert (ours[::2] < score.LEAK_DETAIL).all() and (ours >= score.LEAK_DETAIL).any()  # boxes overlap
    assert core((10.2, 10, 50, 30), w, h) == score.core((10.2, 10, 50, 30))


def test_nothing_to_compare_keeps_no_detail():
    flat = np.full((20, 20), 128.0)
    assert detail_kept(flat, flat, (0, 0, 20, 20)) == 0.0
    assert detail_kept(flat, flat, (5, 5, 5, 9)) == 0.0
