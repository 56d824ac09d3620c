"""The opt-in feedback section and the password-only admin tab (they exist only when configured)."""
from __future__ import annotations

import time

import gradio as gr

from anonymiser.images import ImageError
from webapp.context import feedback_store
from webapp.feedback import admin_password_ok, review_feedback
from webapp.handlers import unpack, user_error
from webapp.session import new_workdir, read_upload


def on_feedback(comment: str, consent: bool, state: dict | None) -> dict:
    """Store the photo with the user's corrections, only with the consent box ticked; then untick it."""
    if consent is not True:
        return {"feedback_md": "Nothing was stored: the photo, your corrections and your comment are sent only "
                               "with the box above ticked."}
    upload, review = unpack(state)
    regions, corrections = review_feedback(review)
    try:
        entry_id = feedback_store.save(True, read_upload(upload.path), regions, corrections, comment)
    except (ImageError, ValueError) as exc:
        raise user_error(exc) from None
    return {"feedback_md": f"Thank you. Stored as `{entry_id}`: quote this id to have it deleted.",
            "feedback_consent": False, "feedback_comment": ""}


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
