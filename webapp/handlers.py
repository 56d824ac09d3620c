"""The One photo tab's events as plain functions: UI values in, a dict of named outputs back.

`app.py` maps the names to its widgets (`wire`), so everything here runs and is tested without a browser.
The review lives in the session state (`pack`/`unpack`): the upload, the regions and their on/off flags;
a toggle re-renders the preview from it and never runs a model.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from anonymiser.batch import anonymise_to_zip
from anonymiser.images import ImageError
from anonymiser.pipeline import run_detection
from anonymiser.privacy_check import actionable, floors
from anonymiser.settings import OBJECTS, Settings
from anonymiser.style import Style, parse_colour
from detectors.engine import PROMPT_KIND, resolve
from detectors.regions import Regions
from webapp.context import registry
from webapp.preview import draw, regions_from_boxes, regions_from_paint
from webapp.review import Review
from webapp.serving import prompt_state
from webapp.session import Export, Upload, discard, export, new_workdir, open_upload, read_pixels, read_preview, touch
from webapp.texts import metadata_text, privacy_text, region_choices, status_text, suggestions_label

KINDS = list(registry.config["kinds"])
THRESHOLD_KEYS = [*KINDS, OBJECTS, PROMPT_KIND]  # the threshold sliders, in this order


def default_threshold(key: str) -> float:
    special = {OBJECTS: "ssd_coco", PROMPT_KIND: registry.prompt_detector()}
    detector = special.get(key) or resolve(key, registry).detector
    return float(registry.settings(detector)["threshold"]) if detector in registry.names() else 0.5


# ---- UI values -> engine objects ------------------------------------------------------------------------

def style_from(method: str, strength: str, colour: str, shape: str, padding: float) -> Style:
    return Style(method, strength, parse_colour(colour or "#000000"), shape, float(padding))


def settings_from(values: tuple, fmt: str = "same") -> Settings:
    """(method, strength, colour, shape, padding, kinds, objects, prompt, *thresholds) -> Settings."""
    method, strength, colour, shape, padding, kinds, objects, prompt, *thresholds = values
    return Settings.parse(kinds or [], dict(zip(THRESHOLD_KEYS, thresholds, strict=True)), objects=objects or [],
                          prompt=prompt, style=style_from(method, strength, colour, shape, padding), format=fmt,
                          registry=registry)


def unpack(state: dict | None) -> tuple[Upload, Review]:
    """The session's photo and review; the photo is in use, so its files' deadline starts again."""
    if not state or not state.get("upload"):
        raise gr.Error("Upload a photo first.")
    upload = Upload.from_json(state["upload"])
    touch(upload)
    return upload, Review.from_json(state["review"])


def pack(upload: Upload, review: Review, findings: list[dict] | None = None, suggestions: bool = False) -> dict:
    return {"upload": upload.to_json(), "review": review.to_json(), "findings": findings or [],
            "suggestions": suggestions}


def showing(state: dict | None) -> bool:
    """Whether the suggestions below the threshold are shown (collapsed by default)."""
    return bool((state or {}).get("suggestions"))


def user_error(exc: Exception) -> gr.Error:
    return gr.Error(f"This photo cannot be used: {exc}.")


# ---- outputs shared by several events -------------------------------------------------------------------

def views(upload: Upload, review: Review, style: Style, suggestions: bool = False) -> dict:
    picture, anonymised = draw(read_preview(upload), review, upload.scale, style, suggestions)
    hidden = bool((review.suggested & ~review.selected).any())
    return {"review_image": picture, "slider": (upload.preview, anonymised),
            "checklist": gr.update(choices=region_choices(review, suggestions),
                                   value=[str(i) for i in review.regions.ids[review.selected]]),
            "which": gr.update(choices=[("all kinds", "all"), *[(label, label) for label in review.labels()]]),
            "show_suggestions": gr.update(label=suggestions_label(review), value=suggestions, visible=hidden)}


def stale_download() -> dict:
    return {"download_image": gr.update(value=None, visible=False),
            "download_report": gr.update(value=None, visible=False), "privacy": "",
            "add_findings": gr.update(visible=False)}


def reviewed(upload: Upload, review: Review, style_values: tuple, suggestions: bool = False) -> dict:
    """After any change to the review: the new state, its status line and pictures."""
    return {"state": pack(upload, review, suggestions=suggestions), "status": status_text(review),
            **views(upload, review, style_from(*style_values), suggestions), **stale_download()}


# ---- events ---------------------------------------------------------------------------------------------

def on_photo(path: str | None, state: dict | None, *values: Any) -> dict:
    """A new photo, or new detection choices: (re)detect. On the same photo the regions drawn by hand stay, and
    a region found again keeps the user's on/off choice (the status says how many could not be kept)."""
    if not path:
        discard(state)
        return {"state": None, "review_image": None, "slider": None, "checklist": gr.update(choices=[], value=[]),
                "status": "", "metadata": "", "annotator": None, "editor": None,
                "show_suggestions": gr.update(visible=False, value=False), **stale_download()}
    same = bool(state and state.get("upload") and state["upload"]["path"] == path)
    try:
        settings = settings_from(values)
        if same:
            upload, earlier = unpack(state)
            image = read_pixels(upload)
        else:
            discard(state)
            (upload, image), earlier = open_upload(path), Review.empty()
        result = run_detection(image, settings, registry)
        least = floors(result.regions, settings.kinds, settings.thresholds, registry, settings.prompt)
    except (ImageError, ValueError) as exc:
        raise user_error(exc) from None
    review, lost = Review.from_detection(result, least).carried_over(earlier)
    review = review.merged_with(earlier.manual())
    seconds = sum(result.timings_ms.values()) / 1000
    suggestions = same and showing(state)
    out = {"state": pack(upload, review, suggestions=suggestions), "status": status_text(review, seconds, lost),
           "metadata": metadata_text(upload), **views(upload, review, settings.style, suggestions),
           **stale_download()}
    if not same:
        out["annotator"] = {"image": upload.preview, "boxes": []}
        out["editor"] = {"background": upload.preview, "layers": [], "composite": None}
    return out


def on_style(state: dict | None, *style_values: Any) -> dict:
    if not state:
        return {"status": gr.skip()}  # nothing to restyle yet; Gradio needs one output named
    upload, review = unpack(state)
    return {**views(upload, review, style_from(*style_values), showing(state)), **stale_download()}


def on_click(evt: gr.SelectData, state: dict | None, *style_values: Any) -> dict:
    """A click on the review picture turns the region under it on or off; a click beside every region says so
    and changes nothing."""
    upload, review = unpack(state)
    x, y = evt.index
    hit = review.hit(x / upload.scale, y / upload.scale, tolerance=6 / upload.scale,
                     among=review.visible(showing(state)))
    if hit is None:
        return {"status": status_text(review) + "\n- No region there: click inside a box to turn it on or off."}
    return reviewed(upload, review.toggled(hit), style_values, showing(state))


def on_show(show: bool, state: dict | None, *style_values: Any) -> dict:
    """Show or collapse the suggestions below the threshold (list and picture)."""
    upload, review = unpack(state)
    return {"state": {**state, "suggestions": bool(show)},
            **views(upload, review, style_from(*style_values), bool(show))}


def on_pick(checked: list[str], state: dict | None, *style_values: Any) -> dict:
    upload, review = unpack(state)
    return reviewed(upload, review.with_selected_ids(checked or []), style_values, showing(state))


def on_all(label: str, on: bool, state: dict | None, *style_values: Any) -> dict:
    upload, review = unpack(state)
    return reviewed(upload, review.with_label(None if label in (None, "all") else label, on), style_values,
                    showing(state))


def add_regions(state: dict | None, regions: Regions, style_values: tuple) -> dict:
    upload, review = unpack(state)
    if not len(regions):
        raise gr.Error("Nothing to add: draw a box or paint an area on the picture first.")
    return reviewed(upload, review.added(regions.clipped(*upload.size)), style_values, showing(state))


def on_add_boxes(value: dict | None, state: dict | None, *style_values: Any) -> dict:
    upload, _ = unpack(state)
    out = add_regions(state, regions_from_boxes((value or {}).get("boxes") or [], upload.scale), style_values)
    return {**out, "annotator": {"image": upload.preview, "boxes": []}}


def on_add_paint(value: dict | None, state: dict | None, *style_values: Any) -> dict:
    upload, _ = unpack(state)
    layers = [layer for layer in (value or {}).get("layers") or [] if layer is not None]
    painted = Regions.merge([regions_from_paint(layer, upload.scale) for layer in layers])
    out = add_regions(state, painted, style_values)
    return {**out, "editor": {"background": upload.preview, "layers": [], "composite": None}}


SETTLE_ROUNDS = 5  # exports an "Add" may take: covering can show the detectors something new, so check again


def on_add_findings(fmt: str, state: dict | None, *values: Any) -> dict:
    """What the privacy check found is covered (the regions it fell in turned on, the rest added as regions
    "added by the privacy check"), and the download prepared and checked again, covering anything new, until
    the check is clean or SETTLE_ROUNDS exports were made: one click settles it."""
    upload, review = unpack(state)
    findings = (state or {}).get("findings") or []
    if not findings:
        raise gr.Error("Nothing to add: prepare the download first; its privacy check says what it finds.")
    review = review.covered(findings)
    settings = settings_from(values, fmt)
    for round_ in range(SETTLE_ROUNDS):
        done = exported(upload, review, settings)
        todo = actionable(done.report_data["privacy_check"]["findings"])
        if not todo or round_ == SETTLE_ROUNDS - 1:
            break
        review = review.covered(todo)
    return {**reviewed(upload, review, values[:5], showing(state)), **ready(upload, review, done, showing(state))}


def on_export(fmt: str, state: dict | None, *values: Any) -> dict:
    """Full size, once: render, write without metadata, report, and check the result for faces and plates."""
    upload, review = unpack(state)
    return ready(upload, review, exported(upload, review, settings_from(values, fmt)), showing(state))


def exported(upload: Upload, review: Review, settings: Settings) -> Export:
    try:
        return export(upload, review, settings, registry)
    except (ImageError, ValueError) as exc:
        raise user_error(exc) from None


def ready(upload: Upload, review: Review, done: Export, suggestions: bool) -> dict:
    """The download buttons and what the privacy check says of the file they serve."""
    check = done.report_data["privacy_check"]
    todo = actionable(check["findings"])
    size_mb = done.image.stat().st_size / 1e6
    return {"state": pack(upload, review, todo, suggestions), "privacy": privacy_text(check, review),
            "download_image": gr.update(value=str(done.image), visible=True,
                                        label=f"Download {done.image.suffix[1:].upper()} ({size_mb:.1f} MB)"),
            "download_report": gr.update(value=str(done.report), visible=True),
            "add_findings": gr.update(visible=bool(todo))}


def on_batch(files: list | None, fmt: str, recheck: bool, method: str, strength: str, colour: str, shape: str,
             padding: float, kinds: list[str], objects: list[str], prompt: str, progress=gr.Progress(),  # noqa: B008
             *thresholds: Any) -> dict:
    """The Many photos tab: every photo with the first tab's settings, into one zip with a table; with
    `recheck`, what the privacy check finds in an output is covered too. (Gradio passes its progress tracker
    in `progress`'s position, before the sliders' values.)"""
    paths = [Path(item[0] if isinstance(item, (tuple, list)) else item) for item in files or []]
    if not paths:
        raise gr.Error("Add some photos first.")
    try:
        settings = settings_from((method, strength, colour, shape, padding, kinds, objects, prompt, *thresholds), fmt)
    except ValueError as exc:
        raise gr.Error(str(exc)) from None
    zip_path = new_workdir() / "anonymised.zip"
    progress(0, desc="Anonymising")
    items = anonymise_to_zip(paths, zip_path, settings, registry,
                             lambda done, total, name: progress(done / total, desc=f"{done}/{total}: {name}"),
                             recheck=bool(recheck))
    rows = [[i.source, i.output or "-", i.anonymised, i.added, i.still_found, i.error] for i in items]
    return {"batch_zip": str(zip_path), "batch_table": rows}


def prompt_box_state() -> dict:
    """The prompt box is usable once its model is ready; the timer polls while the model loads."""
    usable, message = prompt_state(registry)
    name = registry.prompt_detector()
    busy = bool(name) and registry.status(name).state in ("loading", "downloading")
    return {"prompt_box": gr.update(interactive=usable, info=message), "prompt_timer": gr.Timer(active=busy)}
