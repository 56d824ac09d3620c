"""Tracks: linking by ByteTrack, interpolation over missed frames, carrying backwards and forwards, suggestions."""
from __future__ import annotations

import numpy as np

from anonymiser.tracks import PERSISTENT_FRAMES, FillSettings, TrackLinker, untracked
from detectors.regions import Regions


def regions(boxes, scores, label="face") -> tuple[Regions, np.ndarray]:
    found = Regions.create(np.asarray(boxes, dtype=float).reshape(-1, 4), scores, label, "test")
    return found, np.asarray(scores) >= 0.5


def moving_face(frame: int) -> list[float]:
    return [100 + 4 * frame, 80, 140 + 4 * frame, 130]


def test_one_moving_face_is_one_track_and_its_first_detection_is_kept():
    linker = TrackLinker(fps=25)
    for frame in range(20):
        linker.add(frame, *regions([moving_face(frame)], [0.9]))
    tracks = linker.tracks(40, FillSettings(extend=0))
    assert [t.id for t in tracks] == ["face-1"]
    assert tracks[0].frames.tolist() == list(range(20))
    assert np.allclose(tracks[0].box_at(0), moving_face(0))


def test_missed_frames_are_interpolated_and_grown_with_the_distance():
    linker = TrackLinker(fps=25)
    for frame in [*range(0, 6), *range(12, 20)]:  # frames 6-11 missed by the detector
        linker.add(frame, *regions([moving_face(frame)], [0.9]))
    fill = FillSettings(extend=0, growth=0.04)
    (track,) = linker.tracks(20, fill)
    assert track.to_json()["frames_filled"] == 6
    for frame in range(6, 12):
        box, true = track.box_at(frame), np.asarray(moving_face(frame))
        assert box[0] <= true[0] and box[1] <= true[1] and box[2] >= true[2] and box[3] >= true[3]
    assert (track.box_at(9)[2] - track.box_at(9)[0]) > (track.box_at(6)[2] - track.box_at(6)[0])


def test_track_is_carried_backwards_and_forwards_with_its_motion_within_the_span():
    linker = TrackLinker(fps=25)
    for frame in range(10, 20):
        linker.add(frame, *regions([moving_face(frame)], [0.9]))
    (track,) = linker.tracks(25, FillSettings(extend=8))
    assert (track.first, track.last) == (2, 24)  # 8 before, and forwards until the clip ends
    assert track.box_at(1) is None
    for frame in (4, 22):
        box, true = track.box_at(frame), np.asarray(moving_face(frame))
        assert box[0] <= true[0] and box[2] >= true[2], frame


def test_one_frame_low_score_is_a_suggestion_but_a_persistent_one_is_selected():
    linker = TrackLinker(fps=25)
    linker.add(0, *regions([[10, 10, 30, 30]], [0.2]))
    for frame in range(5, 5 + PERSISTENT_FRAMES):
        linker.add(frame, *regions([[200, 200, 240, 240]], [0.3]))
    tracks = {t.frames_detected: t for t in linker.tracks(20)}
    assert not tracks[1].selected
    assert tracks[PERSISTENT_FRAMES].selected


def test_labels_never_share_a_track():
    linker = TrackLinker(fps=25)
    for frame in range(5):
        found = Regions.merge([regions([moving_face(frame)], [0.9])[0],
                               regions([moving_face(frame)], [0.9], label="plate")[0]])
        linker.add(frame, found, np.ones(2, bool))
    assert sorted(t.id for t in linker.tracks(5)) == ["face-1", "plate-1"]


def test_without_tracking_each_detection_covers_its_own_frame_only():
    tracks = untracked([(frame, *regions([moving_face(frame)], [0.9])) for frame in (0, 3)], 10)
    assert [(t.first, t.last) for t in tracks] == [(0, 0), (3, 3)]
    assert tracks[0].box_at(1) is None
