"""The Video tab's events: the clip's tracks listed and drawn on a frame chosen with a slider, toggled by a
click or in the list, boxes drawn on a frame carried over a span, then the render. Plain functions returning
named outputs (`app.py` maps them to widgets); the video work itself is `webapp/video.py`."""
from __future__ import annotations

import json
from typing import Any

import cv2
import gradio as gr
import numpy as np

from anonymiser.images import ImageError
from anonymiser.settings import Settings
from webapp import video
from webapp.context import registry
from webapp.handlers import user_error
from webapp.preview import SUGGESTION_COLOUR, colour_of

VIDEO_KINDS = ["faces", "plates"]


def video_settings(kinds: list[str] | None, method: str, strength: str) -> Settings:
    return Settings.parse(kinds or [], method=method, strength=strength, registry=registry)


def progress_to(progress: Any) -> video.Progress:
    """The video passes' (phase, done, total) callbacks shown on Gradio's progress bar."""
    return lambda phase, done, total: progress(done / max(total, 1), desc=f"{phase}: frame {done} of {total}")


def drawn_frame(state: dict, frame: int) -> np.ndarray:
    """Frame `frame` with each track's box: solid when selected, amber when off, numbered like the list."""
    picture = np.ascontiguousarray(video.frame_at(state["source"], frame))
    numbers = {t["id"]: i + 1 for i, t in enumerate(state["tracks"])}
    width = max(2, round(picture.shape[1] / 400))
    for row in video.boxes_at(state, frame):
        x0, y0, x1, y1 = (round(v) for v in row["box"])
        colour = colour_of(row["label"], "", False) if row["selected"] else SUGGESTION_COLOUR
        cv2.rectangle(picture, (x0, y0), (x1, y1), colour, width)
        cv2.putText(picture, str(numbers[row["id"]]), (x0 + 2, max(y0 - 4, 12)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.5 * width, colour, width)
    return picture


def shown(state: dict, frame: int) -> dict:
    """The list and the frame after any change to the tracks."""
    rows = video.track_rows(state)
    choices = [(f"{i + 1}. {r['label']}, frames {r['first_frame']}-{r['last_frame']} ({r['frames_detected']} "
                f"detected, {r['frames_filled']} filled)", r["id"]) for i, r in enumerate(rows)]
    return {"video_state": state, "video_frame": drawn_frame(state, frame),
            "video_tracks": gr.update(choices=choices, value=[r["id"] for r in rows if r["selected"]]),
            "video_status": f"**{len(rows)} tracks** in {state['frames']} frames: "
                            f"{sum(r['selected'] for r in rows)} on. Click a box on the frame, or tick the list.",
            "video_result": None, "video_report": None}


def on_scan(path: str | None, kinds: list[str], method: str, strength: str, progress=gr.Progress()) -> dict:  # noqa: B008
    """Pass 1: detect and track; the first frame shown with its tracks, the slider set to the clip's length."""
    if not path:
        raise gr.Error("Upload a clip first.")
    try:
        state = video.scan(path, video_settings(kinds, method, strength), registry, progress_to(progress))
    except (ImageError, ValueError) as exc:
        raise user_error(exc) from None
    return {**shown(state, 0), "video_slider": gr.update(maximum=max(state["frames"] - 1, 1), value=0),
            "video_annotator": on_annotate(state, 0)}


def on_frame(state: dict | None, frame: float) -> dict:
    if not state:
        return {}
    return {"video_frame": drawn_frame(state, int(frame))}


def on_frame_click(evt: gr.SelectData, state: dict | None, frame: float) -> dict:
    """A click on a track's box turns that track on or off; elsewhere nothing changes."""
    if not state:
        return {}
    track = video.hit(state, int(frame), *evt.index)
    return shown(video.toggle(state, track), int(frame)) if track else {}


def on_pick(checked: list[str], state: dict | None, frame: float) -> dict:
    if not state:
        return {}
    wanted = set(checked or [])
    tracks = [t | {"selected": t["id"] in wanted} for t in state["tracks"]]
    return shown(state | {"tracks": tracks}, int(frame))


def on_add_box(value: dict | None, state: dict | None, frame: float, first: float, last: float) -> dict:
    """Boxes drawn on the current frame become tracks held still from frame `first` to `last`."""
    if not state:
        raise gr.Error("Scan a clip first.")
    boxes = (value or {}).get("boxes") or []
    if not boxes:
        raise gr.Error("Nothing to add: draw a box on the frame first.")
    try:
        for b in boxes:
            state = video.add_box(state, int(frame), [b["xmin"], b["ymin"], b["xmax"], b["ymax"]],
                                  (int(first), int(last)))
    except ValueError as exc:
        raise gr.Error(str(exc)) from None
    return {**shown(state, int(frame)), "video_annotator": None}


def on_annotate(state: dict | None, frame: float) -> Any:
    """The current frame, without boxes, to draw on."""
    if not state:
        return None
    return {"image": video.frame_at(state["source"], int(frame)), "boxes": []}


def on_render(state: dict | None, kinds: list[str], method: str, strength: str, progress=gr.Progress()) -> dict:  # noqa: B008
    """Pass 2: the clip with the chosen tracks anonymised, without metadata, and its report."""
    if not state:
        raise gr.Error("Scan a clip first.")
    try:
        path, report = video.render(state, video_settings(kinds, method, strength), progress_to(progress))
    except (ImageError, ValueError) as exc:
        raise user_error(exc) from None
    report_path = path.with_suffix(".json")
    report_path.write_text(json.dumps(report, indent=1))
    return {"video_result": str(path), "video_report": str(report_path)}


def anonymise_video(video_file: str, kinds: str = "faces,plates", method: str = "auto",
                    strength: str = "strong") -> tuple[str, dict]:
    """Anonymise a video clip: faces and plates tracked across frames (filled before, between and after their
    detections), audio kept, all metadata removed.

    Args:
        video_file: the clip (MP4, MOV, MKV, WebM or AVI).
        kinds: comma-separated kinds to find; empty = faces,plates.
        method: auto (a fill for videos), mosaic, pixelate, blur or fill.
        strength: light, medium or strong.

    Returns:
        The anonymised clip (H.264 MP4, same size, frame rate and duration) and its JSON report (tracks).
    """
    try:
        settings = Settings.parse(kinds or None, method=method, strength=strength, registry=registry)
        return video.anonymise_video(video_file, settings, registry)
    except (ImageError, ValueError) as exc:
        raise user_error(exc) from None
