"""The app's video handlers as plain functions (no Gradio here, so they are tested without a browser).

A Video tab scans a clip (`scan`: pass 1, with a progress callback), lists its tracks (JSON rows), shows a frame
chosen with a slider (`frame_at`, boxes drawn by `boxes_at`), lets the user toggle tracks or draw a box carried
over a span (`add_box`), then renders (`render`). `anonymise_video` is the one-call API endpoint. The session
state is plain JSON (`VideoState`), like the photo tab's; uploads and outputs live in the session's workdir.
"""
from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from anonymiser import video as clips
from anonymiser.settings import Settings
from anonymiser.tracks import FillSettings, Track
from anonymiser.video import Detect, Progress, VideoError, VideoInfo, VideoResult
from detectors.registry import Registry
from webapp.session import new_workdir

VideoState = dict[str, Any]  # {"source", "info", "frames", "notes", "tracks": [Track.to_state()]}


def output_path(source: Path) -> Path:
    return new_workdir() / f"{Path(source).stem or 'video'}-anonymised.mp4"


def scan(source: str | Path, settings: Settings, registry: Registry, progress: Progress | None = None,
         detect: Detect | None = None) -> VideoState:
    """Pass 1 on an uploaded clip: its tracks, for the list and the frame view. Raises VideoError for bad clips."""
    scanned = clips.scan_video(Path(source), detect or clips.detector_for(settings, registry), progress=progress)
    return {"source": str(source), "info": scanned.info.__dict__ | {"fps": str(scanned.info.fps)},
            "frames": scanned.frames, "notes": scanned.notes, "tracks": [t.to_state() for t in scanned.tracks]}


def track_rows(state: VideoState) -> list[dict]:
    """One row per track for the list: id, label, span, frames detected and filled, selected."""
    keys = ("id", "label", "first_frame", "last_frame", "frames_detected", "frames_filled", "selected")
    return [{k: t[k] for k in keys} for t in state["tracks"]]


def toggle(state: VideoState, track_id: str) -> VideoState:
    tracks = [t | {"selected": not t["selected"]} if t["id"] == track_id else t for t in state["tracks"]]
    return state | {"tracks": tracks}


def add_box(state: VideoState, frame: int, box: list[float], span: tuple[int, int],
            label: str = "manual") -> VideoState:
    """A box drawn on `frame`, carried unchanged over the frames of `span` (inclusive); selected."""
    first, last = max(0, span[0]), min(state["frames"] - 1, span[1])
    if not first <= frame <= last:
        raise ValueError(f"frame {frame} is outside the span {first}-{last}")
    number = 1 + sum(t["label"] == label for t in state["tracks"])
    track = Track(f"{label}-{number}", label, "manual", np.array([first, last]), np.array([box, box], float),
                  np.ones(2), True)
    track.cover(FillSettings(extend=0), state["frames"])
    return state | {"tracks": [*state["tracks"], track.to_state()]}


def boxes_at(state: VideoState, frame: int) -> list[dict]:
    """The tracks present at `frame` with their box there, to draw on the slider's frame and hit-test clicks."""
    rows = []
    for track in map(Track.from_state, state["tracks"]):
        box = track.box_at(frame)
        if box is not None:
            rows.append({"id": track.id, "label": track.label, "selected": track.selected,
                         "box": [round(float(v), 1) for v in box]})
    return rows


def hit(state: VideoState, frame: int, x: float, y: float) -> str | None:
    """The id of the smallest track box containing (x, y) at `frame`: what a click on the frame toggles."""
    rows = [r for r in boxes_at(state, frame) if r["box"][0] <= x <= r["box"][2] and r["box"][1] <= y <= r["box"][3]]
    areas = [(r["box"][2] - r["box"][0]) * (r["box"][3] - r["box"][1]) for r in rows]
    return rows[int(np.argmin(areas))]["id"] if rows else None


def frame_at(source: str | Path, index: int) -> np.ndarray:
    """Frame `index` (0-based, upright RGB) of the clip, for the slider (decoded from the start: clips are short)."""
    container = clips.open_input(Path(source))
    try:
        for i, (_, rgb) in enumerate(clips.frames_of(container)):
            if i == index:
                return rgb
    finally:
        container.close()
    raise VideoError(f"the clip has no frame {index}")


def render(state: VideoState, settings: Settings, progress: Progress | None = None) -> tuple[Path, dict]:
    """Pass 2 with the reviewed tracks: the anonymised clip (in a fresh workdir) and its report."""
    info = VideoInfo(**(state["info"] | {"fps": Fraction(state["info"]["fps"])}))
    scanned = VideoResult(info, state["frames"], [Track.from_state(t) for t in state["tracks"]], "", state["notes"])
    target = output_path(Path(state["source"]))
    result = clips.write_video(Path(state["source"]), target, scanned, settings.style, progress=progress)
    return target, {"settings": settings.to_json(), **result.to_json()}


def anonymise_video(video: str, settings: Settings, registry: Registry,
                    progress: Callable[[str, int, int], None] | None = None) -> tuple[str, dict]:
    """`/anonymise_video`: the clip anonymised with the default selection, and its JSON report."""
    state = scan(video, settings, registry, progress)
    path, report = render(state, settings, progress)
    return str(path), report
