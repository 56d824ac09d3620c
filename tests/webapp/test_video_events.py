"""The Video tab's events as the page calls them (no browser): scan, frame, click, list, drawn box, render."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import av
import gradio as gr
import numpy as np
import pytest

from benchmarks.clips import camera_frames, write_clip
from tests.anonymiser.test_video import SIZE
from webapp import video_events

STYLE = (["faces"], "auto", "strong")


def no_progress(*_, **__) -> None:
    """Gradio's progress tracker, outside a request."""


@pytest.fixture(scope="module")
def scanned(tmp_path_factory, annotations, eval_image) -> dict:
    name = "faceapi_sample1.jpg"
    faces = [(o["label"], o["box"]) for o in annotations[name]["objects"] if o["label"] == "face"]
    clip = write_clip(tmp_path_factory.mktemp("events") / "clip.mov", camera_frames(eval_image(name), faces, SIZE, 8),
                      SIZE)
    return video_events.on_scan(str(clip.path), *STYLE, progress=no_progress)


def test_scan_lists_every_track_ticks_the_selected_and_draws_them(scanned):
    state = scanned["video_state"]
    assert state["tracks"] and scanned["video_tracks"]["value"] == [t["id"] for t in state["tracks"] if t["selected"]]
    assert len(scanned["video_tracks"]["choices"]) == len(state["tracks"])
    assert scanned["video_slider"]["maximum"] == state["frames"] - 1 == 7
    assert scanned["video_frame"].shape == (SIZE[1], SIZE[0], 3)
    plain = video_events.video.frame_at(state["source"], 0)
    assert (scanned["video_frame"] != plain).any()  # the boxes are drawn


def test_a_click_on_a_box_toggles_its_track_and_a_click_beside_changes_nothing(scanned):
    state = scanned["video_state"]
    box = video_events.video.boxes_at(state, 0)[0]
    centre = [(box["box"][0] + box["box"][2]) / 2, (box["box"][1] + box["box"][3]) / 2]
    off = video_events.on_frame_click(SimpleNamespace(index=centre), state, 0)
    assert box["id"] not in off["video_tracks"]["value"]
    assert video_events.on_frame_click(SimpleNamespace(index=[0, 0]), state, 0) == {}


def test_drawn_boxes_need_a_box_and_a_span_that_holds_the_frame(scanned):
    state = scanned["video_state"]
    with pytest.raises(gr.Error, match="draw a box"):
        video_events.on_add_box({"boxes": []}, state, 2, 0, 5)
    drawn = {"boxes": [{"xmin": 5, "ymin": 5, "xmax": 40, "ymax": 40}]}
    with pytest.raises(gr.Error, match="outside the span"):
        video_events.on_add_box(drawn, state, 6, 0, 3)
    added = video_events.on_add_box(drawn, state, 2, 0, 5)["video_state"]
    assert len(added["tracks"]) == len(state["tracks"]) + 1 and added["tracks"][-1]["selected"]


def test_render_writes_the_clip_and_its_report(scanned):
    out = video_events.on_render(scanned["video_state"], *STYLE, progress=no_progress)
    with av.open(out["video_result"]) as container:
        assert container.streams.video[0].frames == 8 and not container.metadata.get("creation_time")
    report = json.loads(Path(out["video_report"]).read_text())
    assert len(report["tracks"]) == len(scanned["video_state"]["tracks"])
    assert np.isfinite(report["tracks"][0]["first_frame"])
