"""The Live tab's pipeline as plain functions: frames in, anonymised frames out, nothing kept."""
import gc
import io
import threading
import weakref

import numpy as np
import pytest
from PIL import Image

from anonymiser.settings import Settings
from benchmarks.live import leaked, load_score, moving_faces
from detectors.regions import Regions
from webapp import live
from webapp.live import Follower, LiveStream, fit, frame_from_html, frame_html, snapshot_bytes


class Clock:
    """Time the test decides: the motion model's age of a box does not depend on the machine's speed."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def score(eval_dir):
    return load_score(eval_dir)


@pytest.fixture(scope="module")
def clip(eval_dir):
    return list(moving_faces(60, eval_dir))[:20]  # a third of the way


@pytest.fixture(scope="module")
def faces_only():
    return Settings.parse(["faces"], registry=live.live_registry())


def face(box) -> Regions:
    return Regions.create([box], [1.0], "face", "test")


def test_a_followed_box_moves_on_with_its_face_and_grows_with_its_age():
    follower = Follower()
    follower.update(face([100, 100, 200, 200]), at=0.0)
    follower.update(face([110, 100, 210, 200]), at=0.1)  # 100 px/s to the right
    now = follower.regions_at(0.2).boxes[0]
    for true in ([120, 100, 220, 200], [110, 100, 210, 200]):  # it kept its speed, or it stopped
        assert now[0] <= true[0] and now[2] >= true[2] and now[1] <= true[1] and now[3] >= true[3]
    assert now[2] - 210 > 110 - now[0]  # stretched ahead, more than grown behind
    later = follower.regions_at(0.5).boxes[0]
    assert later[2] - later[0] > now[2] - now[0]  # older: less known, larger


def test_a_face_the_detector_misses_for_a_moment_stays_covered_until_detections_lose_it_for_a_second():
    follower = Follower(hold=1.0)
    follower.update(face([100, 100, 200, 200]), at=0.0)
    follower.update(Regions.empty(), at=0.3)
    assert len(follower.regions_at(2.5)) == 1  # no detection since: a slow detector leaves no face bare
    follower.update(Regions.empty(), at=1.5)
    assert len(follower.regions_at(1.6)) == 0


def test_two_faces_keep_their_own_velocities():
    follower = Follower()
    follower.update(Regions.create([[0, 0, 50, 50], [300, 0, 350, 50]], [1, 1], "face", "t"), at=0.0)
    follower.update(Regions.create([[310, 0, 360, 50], [-10, 0, 40, 50]], [1, 1], "face", "t"), at=0.1)
    velocities = sorted(f.velocity[0] for f in follower.faces)
    assert velocities[0] < 0 < velocities[1]


def test_frames_are_scaled_down_to_fit_640x480_never_up():
    assert fit(np.zeros((1080, 1920, 4), np.uint8)).shape == (360, 640, 3)
    assert fit(np.zeros((240, 320, 3), np.uint8)).shape == (240, 320, 3)


def test_a_face_seen_in_one_frame_is_covered_in_the_next(clip, score, faces_only):
    clock = Clock()
    stream = LiveStream(clock=clock)
    shown_bare = []
    for index, (frame, truth) in enumerate(clip):
        clock.now = index / 30
        out = stream.answer(frame, faces_only)
        assert out.shape == frame.shape and not np.shares_memory(out, frame)
        shown_bare.append(any(leaked(score, frame, out, truth)))  # the first frame waited for its detection
        stream.settle()
    assert len(stream.follower.faces) == 2
    assert not any(shown_bare), f"faces shown bare in frames {np.flatnonzero(shown_bare)}"
    assert stream.detect_ms is not None and stream.detect_ms > 0


def test_frames_arriving_while_the_detector_is_busy_are_answered_at_once_and_not_queued(clip, faces_only):
    clock = Clock()
    stream = LiveStream(clock=clock)
    stream.answer(clip[0][0], faces_only)  # the first frame waits for its detection
    stream.settle()
    busy = threading.Event()
    blocker = live._DETECTOR.submit(busy.wait, 30)  # the machine's one detector is taken
    try:
        stream.answer(clip[1][0], faces_only)
        first = stream.pending
        for index, (frame, _) in enumerate(clip[2:6], start=2):
            clock.now = index / 30
            assert stream.answer(frame, faces_only).shape == frame.shape
        assert stream.pending is first  # one detection waits for the detector; the other frames were only shown
        assert not first.done()
    finally:
        busy.set()
    blocker.result(30)
    stream.settle()
    assert stream.pending is None


def test_after_a_stall_a_frame_waits_for_its_own_detection(clip, score, faces_only):
    clock = Clock()
    stream = LiveStream(clock=clock)
    stream.answer(clip[0][0], faces_only)
    stream.settle()
    far, truth = list(moving_faces(60))[30]  # the faces 1.5 s of motion away
    clock.now = 3.0  # the browser (or the machine) stalled: nothing arrived for 3 s
    assert not any(leaked(score, far, stream.answer(far, faces_only), truth))


def test_no_frame_is_kept_after_it_is_answered(clip, faces_only):
    stream = LiveStream()
    refs = []
    for frame, _ in clip[:3]:
        copy = frame.copy()
        refs.append(weakref.ref(copy))
        stream.answer(copy, faces_only)
        stream.settle()
        del copy
    gc.collect()
    assert all(ref() is None for ref in refs)
    kept = [v for v in vars(stream).values() if isinstance(v, np.ndarray)]
    assert not kept


def test_the_shown_frame_round_trips_and_its_snapshot_carries_no_metadata(clip):
    frame = clip[0][0]
    html = frame_html(frame)
    assert html.startswith("<img") and "data:image/jpeg;base64," in html
    assert np.abs(frame_from_html(html).astype(int) - frame).mean() < 4
    with Image.open(io.BytesIO(snapshot_bytes(html))) as im:
        assert im.format == "JPEG" and im.size == (640, 480)
        assert not im.getexif() and "exif" not in im.info and "comment" not in im.info


def test_a_snapshot_before_any_frame_is_refused():
    with pytest.raises(ValueError):
        snapshot_bytes(None)
    with pytest.raises(ValueError):
        snapshot_bytes("<p>nothing</p>")


def test_a_mismatched_detection_does_not_fling_the_box_away():
    follower = Follower()
    follower.update(face([100, 100, 200, 200]), at=0.0)
    follower.update(face([150, 100, 250, 200]), at=0.01)  # 5000 px/s: two crossing faces swapped, not a head
    later = follower.regions_at(2.0).boxes[0]
    assert later[0] < 300  # carried at MAX_SPEED (200 px/s) for MAX_EXTRAPOLATION, then only grown
