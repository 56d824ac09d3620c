"""The Video tab's handlers without a browser: scan, list, toggle, draw a box over a span, render, API call.

`..._with_truth_detector` tests use a test double for the detector (the clip's exact boxes)."""
from __future__ import annotations

import json

import av
import numpy as np
import pytest

from anonymiser.settings import Settings
from anonymiser.video import VideoError
from benchmarks.clips import camera_frames, write_clip
from tests.anonymiser.test_video import SIZE, TruthDetector, read_back
from webapp import video


@pytest.fixture(scope="module")
def clip(tmp_path_factory, annotations, eval_image):
    name = "faceapi_sample1.jpg"
    faces = [(o["label"], o["box"]) for o in annotations[name]["objects"] if o["label"] == "face"]
    path = tmp_path_factory.mktemp("tab") / "upload.mov"
    return write_clip(path, camera_frames(eval_image(name), faces, SIZE, 12), SIZE)


@pytest.fixture
def settings(registry) -> Settings:
    return Settings.parse("faces", registry=registry)


def test_scan_lists_tracks_and_reports_progress_with_truth_detector(clip, settings, registry):
    seen = []
    state = video.scan(clip.path, settings, registry, progress=lambda *step: seen.append(step),
                       detect=TruthDetector(clip))
    json.dumps(state)  # the session state is plain JSON
    rows = video.track_rows(state)
    assert [r["id"] for r in rows] == ["face-1", "face-2", "face-3"] and all(r["selected"] for r in rows)
    assert seen[-1] == ("detect", clip.frames, clip.frames)


def test_toggle_by_click_and_render_leaves_the_unselected_face_untouched_with_truth_detector(clip, settings,
                                                                                             registry):
    state = video.scan(clip.path, settings, registry, detect=TruthDetector(clip))
    first = video.boxes_at(state, 0)[0]
    x, y = (first["box"][0] + first["box"][2]) / 2, (first["box"][1] + first["box"][3]) / 2
    clicked = video.hit(state, 0, x, y)
    assert clicked == first["id"]
    state = video.toggle(state, clicked)
    path, report = video.render(state, settings)
    assert [t["selected"] for t in report["tracks"]].count(False) == 1
    source, made = read_back(clip.path)["frames"], read_back(path)["frames"]
    kept = next(b for _, b in clip.truth[0] if abs(b[0] + b[2] - 2 * x) < 4)
    kx0, ky0, kx1, ky1 = (int(v) for v in kept)
    assert np.abs(made[0][ky0:ky1, kx0:kx1].astype(int) - source[0][ky0:ky1, kx0:kx1]).mean() < 6  # re-encode only
    assert len(made) == clip.frames


def test_a_drawn_box_is_carried_over_its_span_only(clip, settings, registry):
    state = video.scan(clip.path, settings, registry, detect=TruthDetector(clip, misses=set(range(clip.frames))))
    assert video.track_rows(state) == []
    state = video.add_box(state, 5, [10, 10, 110, 90], (3, 7))
    assert [bool(video.boxes_at(state, f)) for f in range(clip.frames)] == [3 <= f <= 7 for f in range(clip.frames)]
    path, _ = video.render(state, settings)
    made = read_back(path)["frames"]
    assert made[5][20:80, 20:100].max() < 30  # filled (black) inside the span
    assert made[0][20:80, 20:100].max() > 60  # untouched outside it
    with pytest.raises(ValueError, match="outside the span"):
        video.add_box(state, 9, [0, 0, 5, 5], (3, 7))


def test_frame_at_gives_the_slider_frame_and_refuses_one_past_the_end(clip):
    assert video.frame_at(clip.path, 3).shape == (SIZE[1], SIZE[0], 3)
    with pytest.raises(VideoError, match=f"no frame {clip.frames}"):
        video.frame_at(clip.path, clip.frames)


def test_api_call_returns_a_clip_without_metadata_and_its_report(clip, registry, tmp_path):
    path, report = video.anonymise_video(str(clip.path), Settings.parse("qr", registry=registry), registry)
    assert report["frames"] == clip.frames and report["audio"] == "copied (aac)"
    with av.open(path) as c:
        assert "location" not in c.metadata and "creation_time" not in c.metadata
