"""Image anonymiser in the browser: `python app.py [--host HOST] [--port PORT] [--share]`.

Layout and wiring only: the event handlers are plain functions in `webapp/` (the app's backend), which
uses the library in `anonymiser/` and the models in `detectors/`. The detectors load and are warmed before
the server starts. API endpoints (also MCP tools): /detect and /anonymise. Opt-in feedback with consent, and
its admin tab, exist only when ANONYMISER_FEEDBACK_DIR (and ANONYMISER_ADMIN_PASSWORD) are set.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.util
import io
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
from gradio_image_annotation import image_annotator

from anonymiser.settings import OBJECTS
from anonymiser.style import METHODS, SHAPES, STRENGTHS, Style
from detectors.coco_labels import COCO_LABELS
from detectors.engine import DEFAULT_KINDS, PROMPT_KIND
from webapp import api, live
from webapp import feedback_events as fb
from webapp import handlers as on
from webapp import video_events as ve
from webapp.components import unopened
from webapp.context import ADMIN, QUEUE_SIZE, feedback_store, registry
from webapp.feedback import ADMIN_COLUMNS, CONSENT_TEXT, MAX_COMMENT
from webapp.review import MANUAL
from webapp.serving import install_weights_on_spaces, limit_malloc_arenas, load_in_background, warm_up
from webapp.session import KEEP_SECONDS, MAX_KEEP_SECONDS, SWEEP_SECONDS, discard, keep_sweeping, keep_text
from webapp.texts import KIND_NAMES

ROOT = Path(__file__).resolve().parent
EXAMPLES = sorted(str(p) for p in (ROOT / "examples").glob("*") if p.suffix.lower() in (".jpg", ".png"))
MAX_FILE_SIZE = "50mb"
HEAVY = {"concurrency_id": "models", "concurrency_limit": 1}  # a detector run already uses both cores
LIGHT_LIMIT = 2  # previews and toggles: one per core
PRIVATE = "undocumented"  # UI events: callable (the benchmark times them) but no API docs and no MCP tool
CSS = ("#review img { cursor: crosshair; } .region-list { max-height: 18rem; overflow-y: auto; } "
       "#style, #style > div, #colour { overflow: visible !important; }")  # the colour picker's popup shows whole


# ---- layout ---------------------------------------------------------------------------------------------

with gr.Blocks(title="Image anonymiser", analytics_enabled=False, delete_cache=(SWEEP_SECONDS, KEEP_SECONDS)) as demo:
    # Gradio counts a State's life from its last write; the session's files expire KEEP_SECONDS after their last
    # use (webapp.session.touch), so the State only needs the outer bound.
    state_box = gr.State(None, time_to_live=MAX_KEEP_SECONDS, delete_callback=discard)
    gr.Markdown("# Image anonymiser\nFind faces, licence plates and more in a photo, choose what to hide, "
                "and download it without its metadata. Photos are processed on this server and deleted "
                f"within {keep_text()} of their last use.")
    with gr.Tabs():
        with gr.Tab("One photo", id="single"), gr.Row():
            with gr.Column(scale=1, min_width=320):
                photo = unopened(gr.Image(label="Photo", type="filepath", image_mode=None,
                                          sources=["upload", "clipboard"], height=260, elem_id="photo"))
                gr.Examples(EXAMPLES, inputs=photo, label="Or try one of these")
                kinds_box = gr.CheckboxGroup([(KIND_NAMES.get(k, k), k) for k in on.KINDS], value=list(DEFAULT_KINDS),
                                             label="Find", elem_id="kinds")
                objects_box = gr.Dropdown(COCO_LABELS, value=[], multiselect=True, label="Other objects",
                                          info="COCO classes, e.g. dog, laptop, handbag")
                prompt_box = gr.Textbox(label="Anything else, in words", placeholder="tattoo, name badge",
                                        interactive=False, info="Checking the prompt model...")
                with gr.Accordion("Thresholds", open=False):
                    gr.Markdown("Regions scoring a little below a threshold are shown as amber suggestions, off.")
                    threshold_sliders = [
                        gr.Slider(0.005, 1.0, value=on.default_threshold(key), step=0.005,
                                  label={OBJECTS: "Other objects", PROMPT_KIND: "Prompt"}.get(
                                      key, KIND_NAMES.get(key, key)))
                        for key in on.THRESHOLD_KEYS]
                with gr.Accordion("How to anonymise", open=True, elem_id="style"):
                    method_box = gr.Radio(list(METHODS), value="auto", label="Method",
                                          info="auto: noisy mosaic for faces, solid fill for text and plates")
                    strength_box = gr.Radio(list(STRENGTHS), value="strong", label="Strength")
                    shape_box = gr.Radio(list(SHAPES), value="auto", label="Shape",
                                         info="auto: ellipses for faces, the detector's outline where known")
                    colour_box = gr.ColorPicker("#000000", label="Fill colour", elem_id="colour")
                    padding_box = gr.Slider(0.0, 0.5, value=Style().padding, step=0.01, label="Padding",
                                            info="share of a box added on each side")
            with gr.Column(scale=2):
                status_md = gr.Markdown(elem_id="status")
                with gr.Tabs():
                    with gr.Tab("Review", id="review-tab"):
                        review_image = gr.Image(label="Click a region to turn it on or off", show_label=False,
                                                interactive=False, format="jpeg", elem_id="review",
                                                buttons=["fullscreen"])
                        with gr.Row():
                            which = gr.Dropdown([("all kinds", "all")], value="all", label="Turn", scale=2)
                            all_on = gr.Button("All on", scale=1)
                            all_off = gr.Button("All off", scale=1)
                        checklist = gr.CheckboxGroup([], label="Regions (number, label, score)", elem_id="regions",
                                                     elem_classes="region-list")
                        show_suggestions = gr.Checkbox(False, label="Show the suggestions below the threshold",
                                                       visible=False, elem_id="show-suggestions")
                    with gr.Tab("Before / after", id="compare-tab"):
                        slider = gr.ImageSlider(label="Before / after", format="jpeg", elem_id="compare")
                    with gr.Tab("Draw boxes", id="draw-tab"):
                        annotator = image_annotator(None, label_list=[MANUAL], label_colors=[(255, 0, 255)],
                                                    use_default_label=True, disable_edit_boxes=True,
                                                    sources=None, image_type="filepath", show_clear_button=False,
                                                    show_download_button=False, elem_id="annotator",
                                                    label="Draw boxes the detectors missed")
                        add_boxes = gr.Button("Add these boxes as regions")
                    with gr.Tab("Paint areas", id="paint-tab"):
                        editor = gr.ImageEditor(type="numpy", format="png", sources=(), transforms=(), height=560,
                                                layers=gr.LayerOptions(allow_additional_layers=False),
                                                brush=gr.Brush(colors=["rgb(255, 0, 255)"], color_mode="fixed"),
                                                label="Paint over areas to hide", elem_id="editor")
                        add_paint = gr.Button("Add painted areas as regions")
                metadata_md = gr.Markdown(elem_id="metadata")
                with gr.Row():
                    format_box = gr.Radio([("Same as the photo", "same"), ("PNG", "png")], value="same",
                                          label="Download format", info="JPEG is written at quality 95; never WebP "
                                          "unless the photo was WebP (then lossless)")
                    prepare = gr.Button("Prepare download", variant="primary", elem_id="prepare")
                privacy_md = gr.Markdown(elem_id="privacy")
                add_findings = gr.Button("Add what the check found as regions", visible=False, elem_id="add-findings")
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
            batch_recheck = gr.Checkbox(True, label="Cover what the privacy check finds", elem_id="batch-recheck",
                                        info="each result is checked for faces and plates still recognisable; "
                                             "those found are anonymised too (about one more detection per photo)")
            batch_files = gr.Gallery(type="filepath", interactive=True, label="Photos", columns=6, height=300,
                                     elem_id="batch-photos",
                                     file_types=["image"])
            batch_run = gr.Button("Anonymise all", variant="primary")
            batch_zip = gr.File(label="Results and reports (zip)", elem_id="batch-zip")
            batch_table = gr.Dataframe(headers=["photo", "output", "anonymised", "added by the check",
                                                "still found", "error"], elem_id="batch-table",
                                       interactive=False)
        with gr.Tab("Video", id="video"), gr.Row():
            with gr.Column(scale=1, min_width=320):
                video_in = gr.Video(label="Clip (MP4, MOV, MKV, WebM, AVI)", sources=["upload"], elem_id="video-in")
                video_kinds = gr.CheckboxGroup([(KIND_NAMES[k], k) for k in ve.VIDEO_KINDS], value=["faces"],
                                               label="Find", info="plates: about ten times slower a frame")
                video_method = gr.Radio(list(METHODS), value="auto", label="Method", info="auto: a fill for videos "
                                        "(noise averages out over frames; see the README)")
                video_strength = gr.Radio(list(STRENGTHS), value="strong", label="Strength")
                video_scan = gr.Button("Find and track", variant="primary", elem_id="video-scan")
            with gr.Column(scale=2):
                video_status = gr.Markdown(elem_id="video-status")
                video_frame = gr.Image(label="Click a box to turn its track on or off", interactive=False,
                                       format="jpeg", elem_id="video-frame")
                video_slider = gr.Slider(0, 1, value=0, step=1, label="Frame", elem_id="video-slider")
                video_tracks = gr.CheckboxGroup([], label="Tracks (number, label, frames)", elem_id="video-tracks",
                                                elem_classes="region-list")
                with gr.Accordion("Add a box the detector missed", open=False):
                    video_annotator = image_annotator(None, label_list=[MANUAL], label_colors=[(255, 0, 255)],
                                                      use_default_label=True, disable_edit_boxes=True, sources=None,
                                                      show_clear_button=False, show_download_button=False,
                                                      label="Draw on the current frame")
                    with gr.Row():
                        video_first = gr.Number(0, precision=0, label="from frame")
                        video_last = gr.Number(0, precision=0, label="to frame")
                        video_add = gr.Button("Add the boxes over these frames")
                video_render = gr.Button("Anonymise the clip", variant="primary", elem_id="video-render")
                video_result = gr.Video(label="Anonymised clip (no metadata)", interactive=False,
                                        elem_id="video-result")
                video_report = gr.DownloadButton("Download report (JSON)", elem_id="video-report")
                video_state = gr.State(None, time_to_live=KEEP_SECONDS)
        with gr.Tab("Live camera", id="live"), gr.Row():
            with gr.Column(scale=1, min_width=320):
                live_camera = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="Camera",
                                       webcam_options=gr.WebcamOptions(mirror=False), elem_id="live-camera")
                live_kinds = gr.CheckboxGroup([(KIND_NAMES.get(k, k), k) for k in live.LIVE_KINDS], value=["faces"],
                                              label="Find", info="plates are slower: fewer detections a second")
                live_method = gr.Radio(list(METHODS), value="auto", label="Method")
                live_strength = gr.Radio(list(STRENGTHS), value="strong", label="Strength")
                live_shape = gr.Radio(list(SHAPES), value="auto", label="Shape")
                live_padding = gr.Slider(0.0, 0.5, value=Style().padding, step=0.01, label="Padding")
            with gr.Column(scale=2):
                gr.Markdown("Each frame is anonymised on this server and shown here; nothing of the stream is "
                            "stored, and no frame is kept once it is answered.")
                live_view = gr.HTML(elem_id="live-view", min_height=240)
                live_stats = gr.Markdown(elem_id="live-stats")
                live_state = gr.State(None, time_to_live=live.STREAM_SECONDS)
                with gr.Row():
                    live_snap = gr.Button("Snapshot", elem_id="live-snap")
                    live_snapshot = gr.DownloadButton("Download snapshot", visible=False, elem_id="live-snapshot")
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
        gr.Button().click(api.detect, [api_image, api_kinds, api_thresholds], api_regions, api_name="detect", **HEAVY)
        gr.Button().click(api.anonymise, [api_image, api_kinds, api_method, api_strength], [api_file, api_report],
                          api_name="anonymise", **HEAVY)
        api_video = gr.Video(label="video_file")
        api_video_out = gr.Video(label="anonymised clip")
        gr.Button().click(ve.anonymise_video, [api_video, api_kinds, api_method, api_strength], [api_video_out,
                          api_report], api_name="anonymise_video", concurrency_id="video", concurrency_limit=1)

    named = {"state": state_box, "status": status_md, "metadata": metadata_md, "review_image": review_image,
             "slider": slider, "checklist": checklist, "which": which, "annotator": annotator, "editor": editor,
             "download_image": download_image, "download_report": download_report, "privacy": privacy_md,
             "add_findings": add_findings, "batch_zip": batch_zip, "batch_table": batch_table,
             "prompt_box": prompt_box, "prompt_timer": prompt_timer, "show_suggestions": show_suggestions}
    if feedback_store is not None:
        named |= {"feedback_md": feedback_md, "feedback_consent": feedback_consent,
                  "feedback_comment": feedback_comment}
    named |= {"video_state": video_state, "video_frame": video_frame, "video_tracks": video_tracks,
              "video_status": video_status, "video_result": video_result, "video_report": video_report,
              "video_slider": video_slider, "video_annotator": video_annotator}
    named |= {"live_state": live_state, "live_view": live_view, "live_stats": live_stats,
              "live_snapshot": live_snapshot}

    def wire(handler: Callable[..., Any]) -> Callable[..., Any]:
        """A handler of webapp/ answers with output names; Gradio wants the widgets themselves."""
        @functools.wraps(handler)
        def run(*args: Any) -> Any:
            return {named[name]: value for name, value in handler(*args).items()}
        return run

    style_inputs = [method_box, strength_box, colour_box, shape_box, padding_box]
    detect_inputs = [*style_inputs, kinds_box, objects_box, prompt_box, *threshold_sliders]
    view_outputs = [state_box, status_md, review_image, slider, checklist, which, download_image, download_report,
                    privacy_md, add_findings, show_suggestions]
    photo_outputs = [*view_outputs, metadata_md, annotator, editor]
    # One event for every detection trigger: a change made while detecting runs once more afterwards, with
    # everything as it is then (trigger_mode="always_last"), instead of racing the first run.
    detection_triggers = [photo.change, kinds_box.input, objects_box.input, prompt_box.submit,
                          *(s.release for s in threshold_sliders)]
    gr.on(detection_triggers, wire(on.on_photo), [photo, state_box, *detect_inputs], photo_outputs,
          api_name="photo", api_visibility=PRIVATE, trigger_mode="always_last", **HEAVY)
    light = {"api_visibility": PRIVATE, "concurrency_id": "preview", "concurrency_limit": LIGHT_LIMIT}
    review_inputs = [state_box, *style_inputs]
    gr.on([method_box.input, strength_box.input, shape_box.input, colour_box.change, padding_box.release],
          wire(on.on_style), review_inputs, view_outputs, trigger_mode="always_last", **light)
    review_image.select(wire(on.on_click), review_inputs, view_outputs, **light)
    show_suggestions.input(wire(on.on_show), [show_suggestions, *review_inputs],
                           [state_box, review_image, slider, checklist, which, show_suggestions], **light)
    checklist.input(wire(on.on_pick), [checklist, *review_inputs], view_outputs, api_name="pick", **light)
    all_on.click(wire(lambda w, *v: on.on_all(w, True, *v)), [which, *review_inputs], view_outputs, **light)
    all_off.click(wire(lambda w, *v: on.on_all(w, False, *v)), [which, *review_inputs], view_outputs, **light)
    add_boxes.click(wire(on.on_add_boxes), [annotator, *review_inputs], [*view_outputs, annotator], **light)
    add_paint.click(wire(on.on_add_paint), [editor, *review_inputs], [*view_outputs, editor], **light)
    add_findings.click(wire(on.on_add_findings), [format_box, state_box, *detect_inputs], view_outputs,
                       api_name="add_findings", api_visibility=PRIVATE, **HEAVY)
    prepare.click(wire(on.on_export), [format_box, state_box, *detect_inputs],
                  [state_box, privacy_md, download_image, download_report, add_findings], api_name="export",
                  api_visibility=PRIVATE, **HEAVY)
    batch_run.click(wire(on.on_batch), [batch_files, format_box, batch_recheck, *detect_inputs],
                    [batch_zip, batch_table],
                    api_name="batch", api_visibility=PRIVATE, concurrency_id="batch", concurrency_limit=1)
    video_style = [video_kinds, video_method, video_strength]
    video_view = [video_state, video_frame, video_tracks, video_status, video_result, video_report]
    heavy_video = {"api_visibility": PRIVATE, "concurrency_id": "video", "concurrency_limit": 1}
    video_scan.click(wire(ve.on_scan), [video_in, *video_style], [*video_view, video_slider, video_annotator],
                     **heavy_video)
    video_slider.release(wire(ve.on_frame), [video_state, video_slider], video_frame, **light)
    video_frame.select(wire(ve.on_frame_click), [video_state, video_slider], video_view, **light)
    video_tracks.input(wire(ve.on_pick), [video_tracks, video_state, video_slider], video_view, **light)
    video_slider.release(ve.on_annotate, [video_state, video_slider], video_annotator, **light)
    video_add.click(wire(ve.on_add_box), [video_annotator, video_state, video_slider, video_first, video_last],
                    [*video_view, video_annotator], **light)
    video_render.click(wire(ve.on_render), [video_state, *video_style], [video_result, video_report], **heavy_video)
    live_camera.stream(wire(live.on_frame), [live_camera, live_state, live_kinds, live_method, live_strength,
                                             live_shape, live_padding], [live_state, live_view, live_stats],
                       stream_every=live.STREAM_EVERY, time_limit=live.STREAM_SECONDS, api_visibility=PRIVATE,
                       show_progress="hidden", concurrency_id="live", concurrency_limit=live.VIEWERS)
    live_snap.click(wire(live.on_snapshot), live_view, live_snapshot, **light)
    if feedback_store is not None:
        photo.change(lambda: False, None, feedback_consent, api_visibility="private")  # consent is per photo
        feedback_send.click(wire(fb.on_feedback), [feedback_comment, feedback_consent, state_box],
                            [feedback_md, feedback_consent, feedback_comment], api_name="feedback", **light)
    if ADMIN:
        admin = {"api_visibility": PRIVATE, "concurrency_id": "admin", "concurrency_limit": 1}
        admin_list.click(fb.on_admin_list, admin_password, admin_table, api_name="admin_list", **admin)
        admin_delete.click(fb.on_admin_delete, [admin_password, admin_id], [admin_table, admin_id],
                           api_name="admin_delete", **admin)
        admin_export.click(fb.on_admin_export, admin_password, [admin_coco, admin_zip], api_name="admin_export",
                           **admin)
    demo.load(wire(on.prompt_box_state), None, [prompt_box, prompt_timer], api_visibility="private")
    prompt_timer.tick(wire(on.prompt_box_state), None, [prompt_box, prompt_timer], api_visibility="private")


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
    limit_malloc_arenas()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    install_weights_on_spaces()
    warm_up(registry)
    live.warm()
    keep_sweeping(blocks=demo)
    if not args.no_downloads:
        load_in_background(registry)
    launch(args.host, args.port, args.share)


if __name__ == "__main__":
    main()
