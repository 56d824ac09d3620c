"""The person calibration's labels: what counts as a person, and which candidates teach the fit."""
import numpy as np

from benchmarks.fit_people import labels
from detectors.regions import Regions


def test_best_box_on_each_person_and_every_box_off_people_are_fitted():
    truth = np.array([[100, 100, 200, 400], [600, 100, 700, 400]], np.float32)
    found = Regions.create([[100, 100, 200, 400],    # person 1, exact
                            [110, 120, 210, 420],    # person 1 again, looser: on a person, not fitted
                            [120, 120, 180, 220],    # person 1's upper body: part of them, not fitted
                            [590, 90, 710, 420],     # person 2
                            [350, 100, 450, 400]],   # a pole between them
                           np.ones(5), "person", "people")
    person, fitted = labels(found, truth)
    assert person.tolist() == [True, True, True, True, False]
    assert fitted.tolist() == [True, False, False, True, True]


def test_a_photo_without_people_makes_every_box_a_fitted_negative():
    person, fitted = labels(Regions.create([[0, 0, 10, 30]], [0.5], "person", "people"), np.zeros((0, 4)))
    assert person.tolist() == [False] and fitted.tolist() == [True]
