"""Widgets whose Gradio defaults do not suit the app."""
from __future__ import annotations

import types
from typing import Any

import gradio as gr


def unopened(image: gr.Image) -> gr.Image:
    """`image` (`type="filepath"`) handing over the upload without opening it. Gradio's own check opens it
    with Pillow and, for a file that is no image, answers with its internal error and the server's temporary
    path; the app's loader reads the file and says in one sentence what is wrong with it. (An instance patch,
    not a subclass: Gradio writes a .pyi file beside every component subclass.)"""
    plain = image.preprocess

    def preprocess(self: gr.Image, payload: Any) -> str | None:
        if payload is None or payload.path is None or (payload.url or "").startswith("data:"):
            return plain(payload)
        return str(payload.path)

    image.preprocess = types.MethodType(preprocess, image)  # type: ignore[method-assign]
    return image
