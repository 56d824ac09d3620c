"""How the plate verifier's training labels and figures are made (benchmarks/fit_plates.py, benchmarks/plates.py)."""
import numpy as np
from PIL import Image

from benchmarks import fit_plates
from benchmarks.plates import diagram


def test_each_plate_fits_its_best_candidate_and_a_piece_of_a_plate_is_left_out():
    truth = np.array([[100, 100, 160, 140]], np.float32)
    boxes = np.array([[100, 100, 160, 140],   # the plate
                      [102, 101, 158, 139],   # a second, slightly worse match
                      [100, 100, 125, 115],   # a piece of it: touching, neither plate nor false region
                      [300, 300, 360, 340]], np.float32)  # elsewhere: a false region
    plate, fitted = fit_plates.labels(boxes, truth)
    assert plate.tolist() == [True, True, False, False]
    assert fitted.tolist() == [True, False, False, True]


def test_plate_width_buckets():
    assert [fit_plates.bucket(w) for w in (5, 19.9, 20, 39, 40, 80, 400)] == [
        "<20 px", "<20 px", "20-40 px", "20-40 px", "40-80 px", ">80 px", ">80 px"]


def test_reliability_bins_compare_predictions_with_outcomes(tmp_path):
    evidence = None
    cands = [fit_plates.Candidates("a", np.zeros((4, 4)), evidence, np.array([True, False, True, True]),
                                   np.array([True, True, True, True]))]
    rows = fit_plates.reliability(cands, [np.array([0.95, 0.05, 0.91, 0.99])])
    assert [(r["n"], r["plates"]) for r in rows] == [(1, 0.0), (3, 1.0)]
    diagram(rows, tmp_path / "d.png")
    with Image.open(tmp_path / "d.png") as im:
        assert im.size == (480, 480)
