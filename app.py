"""Image anonymiser in the browser: `python app.py [--host HOST] [--port PORT] [--share]`.

One Gradio Blocks app in one process. It only wires widgets to the engine: detection is `detectors/`,
pixels, files and reports are `anonymiser/`. The detectors load and are warmed before the server starts.
API endpoints (also MCP tools): /detect and /anonymise. Opt-in feedback with consent, and its admin tab, exist
only when ANONYMISER_FEEDBACK_DIR (and ANONYMISER_ADMIN_PASSWORD) are set: see anonymiser/feedback.py.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import gradio as gr
from gradio_image_annotation import image_annotator

from anonymiser.batch import anonymise_to_zip, output_name
from anonymiser.detection_cache import DetectionCache, cache_key
from anonymiser.feedback import (
    ADMIN_COLUMNS,
    ADMIN_PASSWORD_ENV,
    CONSENT_TEXT,
    MAX_COMMENT,
    admin_password_ok,
    review_feedback,
    store_from_env,
)
from anonymiser.images import ImageError, load_image
from anonymiser.pipeline import Settings, run_detection
from anonymiser.preview import draw, regions_from_boxes, regions_from_paint
from anonymiser.privacy_check import anonymise_checked
from anonymiser.review import MANUAL, Review
from anonymiser.serving import install_weights_on_spaces, load_in_background, prompt_state, warm_up
from anonymiser.session import (
    KEEP_SECONDS,
    SWEEP_SECONDS,
    Upload,
    discard,
    export,
    keep_sweeping,
    keep_text,
    new_workdir,
    open_upload,
    read_pixels,
    read_preview,
    read_upload,
)
from anonymiser.style import METHODS, SHAPES, STRENGTHS, Style, parse_colour
from detectors.coco_labels import COCO_LABELS
from detectors.engine import DEFAULT_KINDS, PROMPT_DETECTOR, PROMPT_KIND, resolve
from detectors.regions import Regions
from detectors.registry import default_registry

ROOT = Path(__file__).resolve().parent
EXAMPLES = sorted(str(p) for p in (ROOT / "examples").glob("*") if p.suffix.lower() in (".jpg", ".png"))
KIND_NAMES = {"faces": "Faces", "plates": "Licence plates", "people": "People", "vehicles": "Vehicles",
              "text": "Text", "qr": "QR codes and barcodes", "silhouettes": "People, as silhouettes (Hub model)"}
METADATA_NAMES = {"camera_make": "camera make", "camera_model": "camera model", "date_time": "date and time",
                  "software": "software", "artist": "artist", "copyright": "copyright", "exif_tags": "EXIF tags",
                  "exif_orientation": "EXIF orientation", "thumbnail": "embedded thumbnail", "xmp": "XMP",
                  "iptc": "IPTC", "comment": "comment", "text_chunks": "PNG text", "icc_profile": "ICC colour profile"}
METADATA_VALUES = ("camera_make", "camera_model", "date_time", "software", "artist", "copyright")  # shown inline
OBJECTS = "objects"  # one threshold for every class picked in "Other objects"
MAX_FILE_SIZE = "50mb"
HEAVY = {"concurrency_id": "models", "concurrency_limit": 1}  # a detector run already uses both cores
LIGHT_LIMIT = 2  # previews and toggles: one per core
QUEUE_SIZE = int(os.environ.get("ANONYMISER_QUEUE_SIZE", 32))  # waiting requests beyond this are told to retry
PRIVATE = "undocumented"  # UI events: callable (the benchmark times them) but no API docs and no MCP tool
CSS = "#review img { cursor: crosshair; } .region-list { max-height: 18rem; overflow-y: auto; }"

registry = default_registry()
detections = DetectionCache(max(64, 2 * QUEUE_SIZE), KEEP_SECONDS)  # /anonymise after /detect: detected once
feedback_store = store_from_env()  # None: no feedback section
ADMIN = feedback_store is not None and bool(os.environ.get(ADMIN_PASSWORD_ENV))  # no password set: no admin tab
KINDS = list(registry.config["kinds"])
THRESHOLD_KEYS = [*KINDS, OBJECTS, PROMPT_KIND]


def default_threshold(key: str) -> float:
    detector = {OBJECTS: "ssd_coco", PROMPT_KIND: PROMPT_DETECTOR}.get(key) or resolve(key, registry).detector
    return float(registry.settings(detector)["threshold"]) if detector in registry.names() else 0.5


# ---- UI values -> engine objects ------------------------------------------------------------------------

def style_from(method: str, strength: str, colour: str, shape: str, padding: float) -> Style:
    return Style(method, strength, parse_colour(colour or "#000000"), shape, float(padding))


def settings_from(values: tuple, fmt: str = "same") -> Settings:
    """(method, strength, colour, shape, padding, kinds, objects, prompt, *thresholds) -> Settings."""
    method, strength, colour, shape, padding, kinds, objects, prompt, *thresholds = values
    limits = dict(zip(THRESHOLD_KEYS, thresholds, strict=True))
    chosen = [*(kinds or []), *(objects or [])]
    chosen_limits = {k: float(limits[k]) for k in kinds or []}
    chosen_limits |= {o: float(limits[OBJECTS]) for o in objects or []}
    if prompt:
        chosen_limits[PROMPT_KIND] = float(limits[PROMPT_KIND])
    return Settings.create(chosen, chosen_limits, style_from(method, strength, colour, shape, padding), fmt,
                           prompt or None)


def unpack(state: dict | None) -> tuple[Upload, Review]:
    if not state or not state.get("upload"):
        raise gr.Error("Upload a photo first.")
    return Upload.from_json(state["upload"]), Review.from_json(state["review"])


def pack(upload: Upload, review: Review, findings: list[dict] | None = None) -> dict:
    return {"upload": upload.to_json(), "review": review.to_json(), "findings": findings or []}


def user_error(exc: Exception) -> gr.Error:
    return gr.Error(f"This photo cannot be used: {exc}.")


# ---- text shown to the user -----------------------------------------------------------------------------

def region_choices(review: Review) -> list[tuple[str, str]]:
    out = []
    for i, row in enumerate(review.regions):
        score = "drawn by you" if row["detector"] == MANUAL else f"{row['score']:.2f}"
        hint = ", suggestion" if review.suggested[i] else ""
        out.append((f"{i + 1}. {row['label']} ({score}{hint})", row["id"]))
    return out


def status_text(review: Review, seconds: float | None = None) -> str:
    counts: dict[str, int] = {}
    for label in review.regions.labels.astype(str):
        counts[label] = counts.get(label, 0) + 1
    kinds = ", ".join(f"{n} {label}" for label, n in counts.items())
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    lines = [f"**{len(review)} regions**{took}" + (f" ({kinds})" if kinds else "") +
             f": {int(review.selected.sum())} on, {int(review.suggested.sum())} amber suggestions just below the "
             "threshold. Click a region in the picture, or tick it in the list, to turn it on or off."]
    lines += [f"- {KIND_NAMES.get(kind, kind)} not searched: {reason}" for kind, reason in review.unavailable.items()]
    return "\n".join(lines)


def metadata_text(upload: Upload) -> str:
    found = dict(upload.metadata)
    if not found:
        text = "**Metadata:** none found in this file; the download carries none either."
    else:
        parts = []
        if "gps" in found:
            parts.append(f"**GPS position {found.pop('gps')}**")
        parts += [f"{METADATA_NAMES[k]} {found.pop(k)}" for k in list(found) if k in METADATA_VALUES]
        parts += [METADATA_NAMES.get(k, k) + ("" if v is True else f" ({v})") for k, v in found.items()]
        text = "**Metadata found, removed from the download:** " + "; ".join(parts) + "."
    notes = "".join(f"\n\n{note[0].upper()}{note[1:]}." for note in upload.notes)
    return text + notes


def privacy_text(check_json: dict[str, Any], review: Review) -> str:
    findings = check_json["findings"]
    if not findings and not check_json["unavailable"]:
        return "✅ **Privacy check:** no face or licence plate found in the result."
    numbers = {str(rid): i + 1 for i, rid in enumerate(review.regions.ids)}
    lines = [f"⚠️ **Privacy check:** {check_json['summary']}."]
    for f in findings:
        x0, y0, x1, y1 = (round(v) for v in f["box"])
        where = f"#{numbers[f['region_id']]} " if f["region_id"] in numbers else ""
        lines.append(f"- {f['label']} {where}at ({x0}, {y0})-({x1}, {y1}), score {f['score']:.2f}: {f['reason']}")
    return "\n".join(lines)


# ---- event handlers -------------------------------------------------------------------------------------

def views(upload: Upload, review: Review, style: Style) -> dict:
    preview = read_preview(upload)
    picture, anonymised = draw(preview, review, upload.scale, style)
    return {review_image: picture, slider: (upload.preview, anonymised),
            checklist: gr.update(choices=region_choices(review), value=[str(i) for i in review.regions.ids[
                review.selected]]),
            which: gr.update(choices=[("all kinds", "all"), *[(label, label) for label in review.labels()]])}


def stale_download() -> dict:
    return {download_image: gr.update(value=None, visible=False), download_report: gr.update(value=None, visible=False),
            privacy_md: "", add_findings: gr.update(visible=False)}


def on_photo(path: str | None, state: dict | None, *values: Any) -> dict:
    """A new photo, or new detection choices: (re)detect; keep the regions drawn by hand on the same photo."""
    if not path:
        discard(state)
        return {state_box: None, review_image: None, slider: None, checklist: gr.update(choices=[], value=[]),
                status_md: "", metadata_md: "", annotator: None, editor: None, **stale_download()}
    settings = settings_from(values)
    same = bool(state and state.get("upload") and state["upload"]["path"] == path)
    try:
        if same:
            upload, kept = Upload.from_json(state["upload"]), Review.from_json(state["review"]).manual()
            image = read_pixels(upload)
        else:
            discard(state)
            (upload, image), kept = open_upload(path), Review.empty()
        result = run_detection(image, settings, registry)
    except (ImageError, ValueError) as exc:
        raise user_error(exc) from None
    review = Review.from_detection(result).merged_with(kept)
    seconds = sum(result.timings_ms.values()) / 1000
    out = {state_box: pack(upload, review), status_md: status_text(review, seconds), metadata_md: metadata_text(upload),
           **views(upload, review, settings.style), **stale_download()}
    if not same:
        out[annotator] = {"image": upload.preview, "boxes": []}
        out[editor] = {"background": upload.preview, "layers": [], "composite": None}
    return out


def on_style(state: dict | None, *style_values: Any) -> dict:
    if not state:
        return {}
    upload, review = unpack(state)
    return {**views(upload, review, style_from(*style_values)), **stale_download()}


def on_click(evt: gr.SelectData, state: dict | None, *style_values: Any) -> dict:
    """A click on the review picture turns the region under it on or off."""
    upload, review = unpack(state)
    x, y = evt.index
    hit = review.hit(x / upload.scale, y / upload.scale, tolerance=6 / upload.scale)
    if hit is None:
        return {}
    review = review.toggled(hit)
    return {state_box: pack(upload, review), status_md: status_text(review),
            **views(upload, review, style_from(*style_values)), **stale_download()}


def on_pick(checked: list[str], state: dict | None, *style_values: Any) -> dict:
    upload, review = unpack(state)
    review = review.with_selected_ids(checked or [])
    return {state_box: pack(upload, review), status_md: status_text(review),
            **views(upload, review, style_from(*style_values)), **stale_download()}


def on_all(label: str, on: bool, state: dict | None, *style_values: Any) -> dict:
    upload, review = unpack(state)
    review = review.with_label(None if label in (None, "all") else label, on)
    return {state_box: pack(upload, review), status_md: status_text(review),
            **views(upload, review, style_from(*style_values)), **stale_download()}


def add_regions(state: dict | None, regions: Regions, style_values: tuple) -> dict:
    upload, review = unpack(state)
    if not len(regions):
        raise gr.Error("Nothing to add: draw a box or paint an area on the picture first.")
    review = review.added(regions.clipped(*upload.size))
    return {state_box: pack(upload, review), status_md: status_text(review),
            **views(upload, review, style_from(*style_values)), **stale_download()}


def on_add_boxes(value: dict | None, state: dict | None, *style_values: Any) -> dict:
    upload, _ = unpack(state)
    out = add_regions(state, regions_from_boxes((value or {}).get("boxes") or [], upload.scale), style_values)
    return {**out, annotator: {"image": upload.preview, "boxes": []}}


def on_add_paint(value: dict | None, state: dict | None, *style_values: Any) -> dict:
    upload, _ = unpack(state)
    layers = [layer for layer in (value or {}).get("layers") or [] if layer is not None]
    painted = Regions.merge([regions_from_paint(layer, upload.scale) for layer in layers])
    out = add_regions(state, painted, style_values)
    return {**out, editor: {"background": upload.preview, "layers": [], "composite": None}}


def on_paint_tab(state: dict | None) -> dict | None:
    if not state or not state.get("upload"):
        return None
    return {"background": state["upload"]["preview"], "layers": [], "composite": None}


def on_add_findings(state: dict | None, *style_values: Any) -> dict:
    """Regions the privacy check found that no region covered become regions of their own."""
    findings = (state or {}).get("findings") or []
    regions = Regions.create([f["box"] for f in findings], [f["score"] for f in findings],
                             [f["label"] for f in findings], MANUAL)
    return add_regions(state, regions, style_values)


def on_export(fmt: str, state: dict | None, *values: Any) -> dict:
    """Full size, once: render, write without metadata, report, and check the result for faces and plates."""
    upload, review = unpack(state)
    settings = settings_from(values, fmt)
    try:
        done = export(upload, review, settings, registry)
    except (ImageError, ValueError) as exc:
        raise user_error(exc) from None
    check = done.report_data["privacy_check"]
    uncovered = [f for f in check["findings"] if f["reason"] == "not covered by any region"]
    size_mb = done.image.stat().st_size / 1e6
    return {state_box: pack(upload, review, uncovered), privacy_md: privacy_text(check, review),
            download_image: gr.update(value=str(done.image), visible=True,
                                      label=f"Download {done.image.suffix[1:].upper()} ({size_mb:.1f} MB)"),
            download_report: gr.update(value=str(done.report), visible=True),
            add_findings: gr.update(visible=bool(uncovered))}


def on_batch(files: list | None, fmt: str, method: str, strength: str, colour: str, shape: str, padding: float,
             kinds: list[str], objects: list[str], prompt: str, progress=gr.Progress(), *thresholds: Any) -> dict:  # noqa: B008
    paths = [Path(item[0] if isinstance(item, (tuple, list)) else item) for item in files or []]
    if not paths:
        raise gr.Error("Add some photos first.")
    settings = settings_from((method, strength, colour, shape, padding, kinds, objects, prompt, *thresholds), fmt)
    zip_path = new_workdir() / "anonymised.zip"
    progress(0, desc="Anonymising")
    items = anonymise_to_zip(paths, zip_path, settings, registry,
                             lambda done, total, name: progress(done / total, desc=f"{done}/{total}: {name}"))
    rows = [[i.source, i.output or "-", i.anonymised, i.still_found, i.error] for i in items]
    return {batch_zip: str(zip_path), batch_table: rows}


def on_feedback(comment: str, consent: bool, state: dict | None) -> dict:
    """Store the photo with the user's corrections, only with the consent box ticked; then untick it."""
    if consent is not True:
        return {feedback_md: "Nothing was stored: the photo, your corrections and your comment are sent only "
                             "with the box above ticked."}
    upload, review = unpack(state)
    regions, corrections = review_feedback(review)
    try:
        entry_id = feedback_store.save(True, read_upload(upload.path), regions, corrections, comment)
    except (ImageError, ValueError) as exc:
        raise user_error(exc) from None
    return {feedback_md: f"Thank you. Stored as `{entry_id}`: quote this id to have it deleted.",
            feedback_consent: False, feedback_comment: ""}


def check_admin(password: str) -> None:
    if not admin_password_ok(password):
        time.sleep(1)  # admin events run one at a time: at most one guess a second
        raise gr.Error("Wrong admin password.")


def on_admin_list(password: str) -> list[list]:
    check_admin(password)
    return feedback_store.admin_rows()


def on_admin_delete(password: str, entry_id: str) -> tuple[list[list], str]:
    check_admin(password)
    entry_id = (entry_id or "").strip()
    if not feedback_store.delete(entry_id):
        raise gr.Error(f"No entry {entry_id!r}.")
    return feedback_store.admin_rows(), ""


def on_admin_export(password: str) -> tuple[str, str]:
    check_admin(password)
    coco, archive = feedback_store.export_to(new_workdir())
    return str(coco), str(archive)


def prompt_box_state() -> dict:
    usable, message = prompt_state(registry)
    busy = registry.status(PROMPT_DETECTOR).state in ("loading", "downloading") \
        if PROMPT_DETECTOR in registry.names() else False
    return {prompt_box: gr.update(interactive=usable, info=message), prompt_timer: gr.Timer(active=busy)}


# ---- API endpoints (also MCP tools) ---------------------------------------------------------------------

def parse_thresholds(text: str) -> dict[str, float]:
    """`{"faces": 0.4}` or `faces=0.4,plates=0.5`."""
    text = (text or "").strip()
    if not text:
        return {}
    if text.startswith("{"):
        return {str(k): float(v) for k, v in json.loads(text).items()}
    pairs = [item.partition("=") for item in text.split(",") if item.strip()]
    if any(not sep for _, sep, _ in pairs):
        raise gr.Error(f"thresholds must be JSON or kind=value pairs, got {text!r}")
    return {k.strip(): float(v) for k, _, v in pairs}


def detect(image: str, kinds: str = ",".join(DEFAULT_KINDS), thresholds: str = "") -> dict:
    """Find the regions of a photo that identify people: faces and licence plates unless told otherwise.

    Args:
        image: the photo (JPEG, PNG, WebP, TIFF, BMP or GIF); its EXIF orientation is applied first.
        kinds: comma-separated: faces, plates, people, vehicles, text, qr or a COCO class; empty = faces,plates.
        thresholds: optional thresholds per kind, as JSON {"faces": 0.4} or as faces=0.4,plates=0.5.

    Returns:
        JSON: size, regions (id, label, score, box [x0, y0, x1, y1] in pixels, selected: false for suggestions)
        and the kinds whose detector could not run, with the reason.
    """
    try:
        settings = Settings.create(kinds or None, parse_thresholds(thresholds))
        for kind in settings.kinds:
            resolve(kind, registry)
        data = read_upload(image)
        image_data = load_image(data)
        result = detections.get_or_run(cache_key(data, settings), lambda: run_detection(image_data, settings, registry))
    except (ImageError, ValueError) as exc:
        raise user_error(exc) from None
    rows = result.regions.to_json()
    for row, on in zip(rows, result.selected, strict=True):
        row["selected"] = bool(on)
    height, width = image_data.pixels.shape[:2]
    return {"size": [width, height], "kinds": list(settings.kinds), "regions": rows,
            "unavailable": result.unavailable, "models": result.models, "metadata_found": image_data.metadata_found,
            "timings_ms": result.timings_ms}


def anonymise(image: str, kinds: str = ",".join(DEFAULT_KINDS), method: str = "auto",
              strength: str = "strong") -> tuple[str, dict]:
    """Anonymise a photo: detect, cover every region found, remove all metadata, check the result again.

    Args:
        image: the photo (JPEG, PNG, WebP, TIFF, BMP or GIF).
        kinds: comma-separated: faces, plates, people, vehicles, text, qr or a COCO class; empty = faces,plates.
        method: auto (noisy mosaic for faces, fill for text and plates), mosaic, pixelate, blur or fill.
        strength: light, medium or strong.

    Returns:
        The anonymised image: full size, in the photo's format (PNG for formats that cannot be written), no metadata.
        The JSON report: regions, methods, metadata removed and the privacy check of the result.
    """
    try:
        settings = Settings.create(kinds or None, style=Style(method or "auto", strength or "strong"))
        for kind in settings.kinds:
            resolve(kind, registry)
        name = Path(image).name
        outcome, _ = anonymise_checked(read_upload(image), settings, registry, source=name, cache=detections)
    except (ImageError, ValueError) as exc:
        raise user_error(exc) from None
    path = new_workdir() / output_name(name, outcome.extension)
    path.write_bytes(outcome.data)
    return str(path), outcome.report


# ---- layout ---------------------------------------------------------------------------------------------

with gr.Blocks(title="Image anonymiser", analytics_enabled=False, delete_cache=(SWEEP_SECONDS, KEEP_SECONDS)) as demo:
    state_box = gr.State(None, time_to_live=KEEP_SECONDS, delete_callback=discard)
    gr.Markdown("# Image anonymiser\nFind faces, licence plates and more in a photo, choose what to hide, "
                "and download it without its metadata. Photos are processed on this server and deleted "
                f"within {keep_text()}.")
    with gr.Tabs():
        with gr.Tab("One photo", id="single"), gr.Row():
            with gr.Column(scale=1, min_width=320):
                photo = gr.Image(label="Photo", type="filepath", image_mode=None, sources=["upload", "clipboard"],
                                 height=260, elem_id="photo")
                gr.Examples(EXAMPLES, inputs=photo, label="Or try one of these")
                kinds_box = gr.CheckboxGroup([(KIND_NAMES.get(k, k), k) for k in KINDS], value=list(DEFAULT_KINDS),
                                             label="Find", elem_id="kinds")
                objects_box = gr.Dropdown(COCO_LABELS, value=[], multiselect=True, label="Other objects",
                                          info="COCO classes, e.g. dog, laptop, handbag")
                prompt_box = gr.Textbox(label="Anything else, in words", placeholder="tattoo, name badge",
                                        interactive=False, info="Checking the prompt model...")
                with gr.Accordion("Thresholds", open=False):
                    gr.Markdown("Regions scoring a little below a threshold are shown as amber suggestions, off.")
                    threshold_sliders = [
                        gr.Slider(0.01, 1.0, value=default_threshold(key), step=0.01,
                                  label={OBJECTS: "Other objects", PROMPT_KIND: "Prompt"}.get(
                                      key, KIND_NAMES.get(key, key)))
                        for key in THRESHOLD_KEYS]
                with gr.Accordion("How to anonymise", open=True):
                    method_box = gr.Radio(list(METHODS), value="auto", label="Method",
                                          info="auto: noisy mosaic for faces, solid fill for text and plates")
                    strength_box = gr.Radio(list(STRENGTHS), value="strong", label="Strength")
                    shape_box = gr.Radio(list(SHAPES), value="auto", label="Shape",
                                         info="auto: ellipses for faces, the detector's outline where known")
                    with gr.Row():
                        colour_box = gr.ColorPicker("#000000", label="Fill colour", scale=1, min_width=100)
                        padding_box = gr.Slider(0.0, 0.5, value=Style().padding, step=0.01, label="Padding",
                                                info="share of a box added on each side", scale=3)
            with gr.Column(scale=2):
                status_md = gr.Markdown(elem_id="status")
                with gr.Tabs():
                    with gr.Tab("Review", id="review-tab"):
                        review_image = gr.Image(label="Click a region to turn it on or off", interactive=False,
                                                format="jpeg", elem_id="review", buttons=["fullscreen"])
                        with gr.Row():
                            which = gr.Dropdown([("all kinds", "all")], value="all", label="Turn", scale=2)
                            all_on = gr.Button("All on", scale=1)
                            all_off = gr.Button("All off", scale=1)
                        checklist = gr.CheckboxGroup([], label="Regions (number, label, score)", elem_id="regions",
                                                     elem_classes="region-list")
                    with gr.Tab("Before / after", id="compare-tab"):
                        slider = gr.ImageSlider(label="Before / after", format="jpeg", elem_id="compare")
                    with gr.Tab("Draw boxes", id="draw-tab"):
                        annotator = image_annotator(None, label_list=[MANUAL], label_colors=[(255, 0, 255)],
                                                    use_default_label=True, disable_edit_boxes=True,
                                                    sources=None, image_type="filepath", show_clear_button=False,
                                                    show_download_button=False,
                                                    label="Draw boxes the detectors missed")
                        add_boxes = gr.Button("Add these boxes as regions")
                    with gr.Tab("Paint areas", id="paint-tab") as paint_tab:
                        editor = gr.ImageEditor(type="numpy", format="png", sources=(), transforms=(), height=560,
                                                layers=gr.LayerOptions(allow_additional_layers=False),
                                                brush=gr.Brush(colors=["rgb(255, 0, 255)"], color_mode="fixed"),
                                                label="Paint over areas to hide")
                        add_paint = gr.Button("Add painted areas as regions")
                metadata_md = gr.Markdown(elem_id="metadata")
                with gr.Row():
                    format_box = gr.Radio([("Same as the photo", "same"), ("PNG", "png")], value="same",
                                          label="Download format", info="JPEG is written at quality 95; never WebP "
                                          "unless the photo was WebP (then lossless)")
                    prepare = gr.Button("Prepare download", variant="primary", elem_id="prepare")
                privacy_md = gr.Markdown(elem_id="privacy")
                add_findings = gr.Button("Add what the check found as regions", visible=False)
                with gr.Row():
                    download_image = gr.DownloadButton("Download image", visible=False, variant="primary",
                                                       elem_id="download-image")
                    download_report = gr.DownloadButton("Download report (JSON)", visible=False,
                                                        elem_id="download-report")
                if feedback_store is not None:
                    with gr.Accordion("Feedback: share a photo the tool got wrong", open=False):
                        feedback_comment = gr.Textbox(label="Comment (optional)", lines=2, max_length=MAX_COMMENT,
                                                      placeholder="What was missed, or wrongly found?")
                        feedback_consent = gr.Checkbox(False, label="Share this photo and my corrections",
                                                       info=CONSENT_TEXT, elem_id="consent")
                        feedback_send = gr.Button("Send feedback", elem_id="send-feedback")
                        feedback_md = gr.Markdown(elem_id="feedback-status")
        with gr.Tab("Many photos", id="batch"):
            gr.Markdown("The settings of the first tab apply to every photo; each gets its default selection.")
            batch_files = gr.Gallery(type="filepath", interactive=True, label="Photos", columns=6, height=300,
                                     elem_id="batch-photos",
                                     file_types=["image"])
            batch_run = gr.Button("Anonymise all", variant="primary")
            batch_zip = gr.File(label="Results and reports (zip)")
            batch_table = gr.Dataframe(headers=["photo", "output", "anonymised", "still found", "error"],
                                       interactive=False)
        if ADMIN:
            with gr.Tab("Admin", id="admin"):
                gr.Markdown("Photos users shared with their corrections (originals: handle as personal data).")
                admin_password = gr.Textbox(label="Admin password", type="password")
                admin_list = gr.Button("List entries")
                admin_table = gr.Dataframe(headers=ADMIN_COLUMNS, interactive=False, elem_id="admin-entries")
                with gr.Row():
                    admin_id = gr.Textbox(label="Entry id", scale=3)
                    admin_delete = gr.Button("Delete entry", variant="stop", scale=1)
                admin_export = gr.Button("Export COCO annotations and zip")
                with gr.Row():
                    admin_coco = gr.File(label="COCO annotations (JSON)")
                    admin_zip = gr.File(label="Photos and annotations (zip)")
    prompt_timer = gr.Timer(3, active=False)
    with gr.Column(visible=False):  # the API's own inputs and outputs
        api_image = gr.File(label="image", file_types=["image"])
        api_kinds = gr.Textbox(",".join(DEFAULT_KINDS), label="kinds")
        api_thresholds = gr.Textbox("", label="thresholds")
        api_method = gr.Textbox("auto", label="method")
        api_strength = gr.Textbox("strong", label="strength")
        api_regions = gr.JSON(label="regions")
        api_file = gr.File(label="anonymised image")
        api_report = gr.JSON(label="report")
        gr.Button().click(detect, [api_image, api_kinds, api_thresholds], api_regions, api_name="detect", **HEAVY)
        gr.Button().click(anonymise, [api_image, api_kinds, api_method, api_strength], [api_file, api_report],
                          api_name="anonymise", **HEAVY)

    style_inputs = [method_box, strength_box, colour_box, shape_box, padding_box]
    detect_inputs = [*style_inputs, kinds_box, objects_box, prompt_box, *threshold_sliders]
    view_outputs = [state_box, status_md, review_image, slider, checklist, which, download_image, download_report,
                    privacy_md, add_findings]
    photo_outputs = [*view_outputs, metadata_md, annotator, editor]
    # One event for every detection trigger: a change made while detecting runs once more afterwards, with
    # everything as it is then (trigger_mode="always_last"), instead of racing the first run.
    detection_triggers = [photo.change, kinds_box.input, objects_box.input, prompt_box.submit,
                          *(s.release for s in threshold_sliders)]
    gr.on(detection_triggers, on_photo, [photo, state_box, *detect_inputs], photo_outputs, api_name="photo",
          api_visibility=PRIVATE, trigger_mode="always_last", **HEAVY)
    light = {"api_visibility": PRIVATE, "concurrency_id": "preview", "concurrency_limit": LIGHT_LIMIT}
    gr.on([method_box.input, strength_box.input, shape_box.input, colour_box.input, padding_box.release], on_style,
          [state_box, *style_inputs], view_outputs, trigger_mode="always_last", **light)
    review_image.select(on_click, [state_box, *style_inputs], view_outputs, **light)
    checklist.input(on_pick, [checklist, state_box, *style_inputs], view_outputs, api_name="pick", **light)
    all_on.click(lambda w, s, *v: on_all(w, True, s, *v), [which, state_box, *style_inputs], view_outputs, **light)
    all_off.click(lambda w, s, *v: on_all(w, False, s, *v), [which, state_box, *style_inputs], view_outputs, **light)
    add_boxes.click(on_add_boxes, [annotator, state_box, *style_inputs], [*view_outputs, annotator], **light)
    add_paint.click(on_add_paint, [editor, state_box, *style_inputs], [*view_outputs, editor], **light)
    paint_tab.select(on_paint_tab, state_box, editor, **light)  # an editor filled while hidden shows no picture
    add_findings.click(on_add_findings, [state_box, *style_inputs], view_outputs, **light)
    prepare.click(on_export, [format_box, state_box, *detect_inputs],
                  [state_box, privacy_md, download_image, download_report, add_findings], api_name="export",
                  api_visibility=PRIVATE, **HEAVY)
    batch_run.click(on_batch, [batch_files, format_box, *detect_inputs], [batch_zip, batch_table],
                    api_name="batch", api_visibility=PRIVATE, concurrency_id="batch", concurrency_limit=1)
    if feedback_store is not None:
        photo.change(lambda: False, None, feedback_consent, api_visibility="private")  # consent is per photo
        feedback_send.click(on_feedback, [feedback_comment, feedback_consent, state_box],
                            [feedback_md, feedback_consent, feedback_comment], api_name="feedback", **light)
    if ADMIN:
        admin = {"api_visibility": PRIVATE, "concurrency_id": "admin", "concurrency_limit": 1}
        admin_list.click(on_admin_list, admin_password, admin_table, api_name="admin_list", **admin)
        admin_delete.click(on_admin_delete, [admin_password, admin_id], [admin_table, admin_id],
                           api_name="admin_delete", **admin)
        admin_export.click(on_admin_export, admin_password, [admin_coco, admin_zip], api_name="admin_export", **admin)
    demo.load(prompt_box_state, None, [prompt_box, prompt_timer], api_visibility="private")
    prompt_timer.tick(prompt_box_state, None, [prompt_box, prompt_timer], api_visibility="private")


# ---- process --------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Image anonymiser web app (and API, and MCP server).")
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                   help="address to listen on (default 127.0.0.1, or $GRADIO_SERVER_NAME as on Spaces); "
                        "0.0.0.0 for the local network")
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)),
                   help="port (default 7860, or $GRADIO_SERVER_PORT)")
    p.add_argument("--share", action="store_true", help="also make a temporary public gradio.live link")
    p.add_argument("--no-downloads", action="store_true", help="do not download Hub models in the background")
    return p.parse_args(argv)


def launch(host: str = "127.0.0.1", port: int = 7860, share: bool = False, block: bool = True) -> str:
    """Start the server with the privacy-safe defaults; returns the local URL."""
    mcp = importlib.util.find_spec("mcp") is not None
    demo.queue(default_concurrency_limit=LIGHT_LIMIT, max_size=QUEUE_SIZE)
    chatter = io.StringIO()
    with contextlib.redirect_stdout(chatter):  # Gradio's banner; the lines that matter are printed below
        _, local_url, share_url = demo.launch(
            server_name=host, server_port=port, share=share, prevent_thread_lock=True, show_error=True,
            max_file_size=MAX_FILE_SIZE, run_history=False, enable_monitoring=False, mcp_server=mcp,
            footer_links=["api", "gradio"], css=CSS, quiet=True)
    print(f"Image anonymiser on {local_url}" + (f" (MCP: {local_url}gradio_api/mcp/)" if mcp else ""), flush=True)
    if share:
        print(f"Public link: {share_url}" if share_url else
              "No public link: gradio.live could not be reached (no internet?); serving locally only.", flush=True)
    if block:
        demo.block_thread()
    return local_url


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    install_weights_on_spaces()
    warm_up(registry)
    keep_sweeping()
    if not args.no_downloads:
        load_in_background(registry)
    launch(args.host, args.port, args.share)


if __name__ == "__main__":
    main()
