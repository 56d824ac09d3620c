"""Mutated bytes of real JPEG and PNG files fed to the loader and the CLI: a decoded image or one sentence,
never a traceback or a hang, and never an output file for an input that failed."""
from __future__ import annotations

import contextlib
import io
import signal
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from anonymiser.cli import main
from anonymiser.images import ImageError, load_image
from tests.anonymiser.test_hostile_inputs import exif_block, thumbnail
from tests.conftest import EXAMPLES

SECONDS_PER_INPUT = 20  # generous for a loaded machine; a decoder that loops forever meets it


def small(name: str, width: int = 160) -> Image.Image:
    im = Image.open(EXAMPLES / name)
    return im.resize((width, round(im.height * width / im.width)))


def real_files() -> list[bytes]:
    """Files as cameras and editors write them: EXIF (orientation, GPS, thumbnail), progressive JPEG, PNG text
    chunks and alpha; small, so that a mutated copy that still decodes is quick to anonymise."""
    photo, astronaut = small("grace_hopper.jpg").convert("RGB"), small("astronaut.png").convert("RGBA")
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "taken at home")
    files = []
    for im, options in ((photo, {"format": "JPEG", "exif": exif_block(6, thumbnail()), "quality": 90}),
                        (photo, {"format": "JPEG", "progressive": True}),
                        (astronaut, {"format": "PNG", "pnginfo": text, "exif": exif_block(1, b"")})):
        buf = io.BytesIO()
        im.save(buf, **options)
        files.append(buf.getvalue())
    return files


REAL_FILES = real_files()
SPECIAL_BYTES = [0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF]  # sizes, lengths and markers live at these edges


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A real file with 1-6 mutations, mostly in its first kilobyte where headers, sizes and tables are (past
    the 8-byte signature: a file without one is refused at once, which the hostile-input tests cover)."""
    data = bytearray(draw(st.sampled_from(REAL_FILES)))
    for _ in range(draw(st.integers(1, 6))):
        end = len(data)
        at = draw(st.one_of(st.integers(min(end, 8), min(end, 1024)), st.integers(min(end, 8), end)))
        op = draw(st.sampled_from(["flip", "special", "insert", "delete", "truncate", "repeat"]))
        if op == "flip" and at < end:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "special" and at < end:
            data[at] = draw(st.sampled_from(SPECIAL_BYTES))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 256))]
        elif op == "truncate":
            del data[at:]
        elif op == "repeat":
            data[at:at] = data[at:at + draw(st.integers(1, 512))]
    return bytes(data)


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail the example when it runs longer than `seconds` (Pillow decodes in chunks, so a loop is interrupted)."""
    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"an input took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow on the corrupt EXIF it meets
@FUZZ
@given(data=mutated())
def test_the_loader_decodes_or_refuses_in_one_sentence(data):
    try:
        with time_limit(SECONDS_PER_INPUT):
            loaded = load_image(data)
    except ImageError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert loaded.pixels.dtype == np.uint8 and loaded.pixels.ndim == 3 and loaded.pixels.shape[2] in (3, 4)
        assert min(loaded.pixels.shape[:2]) >= 1


@settings(FUZZ, max_examples=25, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=mutated())
def test_the_cli_writes_a_whole_output_or_nothing_and_one_line(data, tmp_path_factory, capsys):
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "photo.jpg").write_bytes(data)
    out = folder / "out"
    with time_limit(SECONDS_PER_INPUT):
        code = main([str(folder / "photo.jpg"), "--out", str(out), "--detect", "faces", "--no-progress"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    written = sorted(p.name for p in out.rglob("*")) if out.exists() else []
    if code == 0:
        assert len(written) == 1 and written[0].startswith("photo.")
        with Image.open(out / written[0]) as im:
            im.load()
    else:
        assert code == 1 and written == []
        (line,) = [line for line in err.splitlines() if line.startswith("failed: ")]
        assert line.startswith(f"failed: {folder / 'photo.jpg'}: ")
