"""Mutated bytes of real JPEG and PNG files sent to /anonymise (its handler, called as a function): an
anonymised file or the user-facing error, never another exception or a hang, and no file kept for a failure."""
from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest
from hypothesis import HealthCheck, given, settings
from PIL import Image

from tests.anonymiser.test_fuzz import FUZZ, SECONDS_PER_INPUT, mutated, time_limit
from webapp import api, session


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow on the corrupt EXIF it meets
@settings(FUZZ, max_examples=15, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=mutated())
def test_anonymise_answers_a_whole_file_or_the_user_error(data, tmp_path_factory, monkeypatch):
    folder = tmp_path_factory.mktemp("fuzz")
    upload = folder / "upload" / "photo.jpg"
    upload.parent.mkdir()
    upload.write_bytes(data)
    work = folder / "work"
    monkeypatch.setattr(session, "WORK_ROOT", work)
    try:
        with time_limit(SECONDS_PER_INPUT):
            path, report = api.anonymise(str(upload), kinds="faces")
    except gr.Error as exc:
        assert str(exc.message).startswith("This photo cannot be used: ") and "\n" not in exc.message
        assert not work.exists() or not any(work.rglob("*"))  # nothing written for a failure
    else:
        assert [p for p in work.rglob("*") if p.is_file()] == [Path(path)]  # the output, nothing else
        with Image.open(path) as im:
            im.load()
        assert {"regions", "metadata_removed"} <= report.keys()
