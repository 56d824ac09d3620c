"""Collection of the CLI's inputs: every file of a folder is a job or named with its reason; hidden files and
the output folder are never inputs."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from anonymiser import images, inputs
from anonymiser.inputs import Job, collect, kind_of

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><rect/></svg>'


def image_bytes(fmt: str = "JPEG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (12, 16, 3), dtype=np.uint8)).save(buf, fmt)
    return buf.getvalue()


def heic_bytes() -> bytes:
    """The first bytes of an iPhone photo: an ISO-BMFF `ftyp` box with the `heic` brand."""
    return b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + bytes(64)


def tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_every_file_of_a_folder_is_a_job_or_skipped_with_its_reason(tmp_path):
    root = tree(tmp_path / "in", {
        "a.jpg": image_bytes(), "sub/b.png": image_bytes("PNG"), "drawing.svg": SVG, "notes.txt": b"milk\neggs\n",
        "raw.NEF": image_bytes("TIFF"), "data.bin": np.random.default_rng(1).bytes(2048),
        "page.html": b"<!DOCTYPE html><html></html>", "broken.jpg": b"not really a jpeg",
    })
    found = collect([root])
    assert found.jobs == [Job(root / "a.jpg", Path("a")), Job(root / "broken.jpg", Path("broken")),
                          Job(root / "sub/b.png", Path("sub/b"))]  # broken.jpg is tried: it fails with its reason
    assert found.skipped == [
        (root / "data.bin", "it is not an image format this tool reads (JPEG, PNG, WebP, TIFF, BMP, GIF, ...)"),
        (root / "drawing.svg", "it is an SVG (vector) file; export it as PNG or JPEG first"),
        (root / "notes.txt", "it is a text file, not an image"),
        (root / "page.html", "it is an HTML page, not an image"),
        (root / "raw.NEF", "it is a camera RAW file; export it as JPEG or TIFF first"),
    ]
    assert found.failures == []


def test_an_image_whose_extension_lies_or_is_missing_is_found(tmp_path):
    mpeg = b"\0\0\1\xb3\x14\x00\xf0" + bytes(60)  # an MPEG-1 sequence header, 320x240
    root = tree(tmp_path / "in", {"photo.txt": image_bytes(), "IMG_0001": image_bytes("PNG"),
                                  "IMG_0002": image_bytes("PNG")[:-200], "clip.mpg": mpeg})
    found = collect([root])  # the truncated IMG_0002 is tried: loading it says it is truncated
    assert [job.source.name for job in found.jobs] == ["IMG_0001", "IMG_0002", "photo.txt"]
    assert found.skipped == [(root / "clip.mpg", "it is MPEG, a format this tool does not read")]  # no decoder


def test_hidden_files_hidden_folders_and_system_files_are_never_inputs(tmp_path):
    root = tree(tmp_path / "in", {
        ".DS_Store": b"\0\0\0\1Bud1", "._photo.jpg": b"\0\5\26\7AppleDouble", "photo.jpg": image_bytes(),
        ".git/objects/x.png": image_bytes("PNG"), ".thumbnails/photo.jpg": image_bytes(), "Thumbs.db": b"\xd0\xcf",
        "desktop.ini": b"[.ShellClassInfo]", "deep/.cache/y.png": image_bytes("PNG"),
    })
    found = collect([root])
    assert found.jobs == [Job(root / "photo.jpg", Path("photo"))]
    assert found.skipped == [] and found.failures == []


def test_the_output_folder_inside_an_input_folder_is_not_read(tmp_path):
    root = tree(tmp_path / "in", {"a.jpg": image_bytes(), "anon/a.jpg": image_bytes(), "anon/a.json": b"{}"})
    found = collect([root], out=root / "anon")
    assert found.jobs == [Job(root / "a.jpg", Path("a"))] and found.skipped == []
    relative_out = Path("in") / "anon"  # the same folder named relatively is recognised too
    assert collect([root], out=tmp_path / relative_out).jobs == found.jobs


def test_an_output_folder_that_would_replace_the_originals_is_refused(tmp_path):
    root = tree(tmp_path / "in", {"a.jpg": image_bytes()})
    found = collect([root, root / "a.jpg"], out=root)
    assert found.jobs == []
    assert found.failures == [(root, "it is the output folder; outputs would replace the originals"),
                              (root / "a.jpg", "its output would overwrite it (same folder, same name); "
                               "choose another --out")]


def test_files_named_on_the_command_line_are_always_tried(tmp_path):
    root = tree(tmp_path, {".hidden.jpg": image_bytes(), "drawing.svg": SVG, "notes.jpg": b"milk\n"})
    found = collect([root / ".hidden.jpg", root / "drawing.svg", root / "notes.jpg", root / "missing.png"],
                    out=tmp_path / "out")
    assert found.jobs == [Job(root / ".hidden.jpg", Path(".hidden")), Job(root / "notes.jpg", Path("notes"))]
    assert found.failures == [(root / "drawing.svg", "it is an SVG (vector) file; export it as PNG or JPEG first"),
                              (root / "missing.png", "no such file or folder")]
    assert found.skipped == []


def test_heic_is_read_when_supported_and_named_when_not(tmp_path, monkeypatch):
    path = tree(tmp_path, {"iphone.jpeg.heic": heic_bytes()}) / "iphone.jpeg.heic"
    assert images.HEIF_SUPPORT and kind_of(path) == "image"  # pillow-heif is pinned in requirements.txt
    monkeypatch.setattr(inputs, "IMAGE_SUFFIXES", inputs.IMAGE_SUFFIXES - {".heic"})
    monkeypatch.setattr(images, "HEIF_SUPPORT", False)
    monkeypatch.setattr(Image, "ID", [name for name in Image.ID if name != "HEIF"])  # as if never registered
    assert kind_of(path) == "it is a HEIC/HEIF photo and HEIC/HEIF support is not installed (pip install pillow-heif)"


@pytest.mark.parametrize("name", ["a.JPG", "b.Jpeg", "c.TIFF", "d.webp", "e.gif", "f.bmp"])
def test_image_suffixes_in_any_case_are_images_without_opening_them(tmp_path, name):
    path = tree(tmp_path, {name: b"anything"}) / name
    assert kind_of(path) == "image"


def test_cli_names_and_counts_what_it_skips_and_never_reads_its_own_outputs(tmp_path, capsys):
    from anonymiser.cli import RUN_REPORT, main

    root = tree(tmp_path / "in", {"a.jpg": image_bytes(), "sub/b.png": image_bytes("PNG"), "drawing.svg": SVG,
                                  "notes.txt": b"milk\n", ".DS_Store": b"\0\0\0\1Bud1", "._a.jpg": b"\0\5\26\7",
                                  "lies.txt": image_bytes("PNG")})  # its output is named for what it is: lies.png
    out = root / "anonymised"
    args = [str(root), "--out", str(out), "--detect", "qr", "--report", "--no-progress"]
    for _ in range(2):  # the second run finds the first one's outputs inside the input folder: never inputs
        assert main(args) == 0  # skipped files are not failures
        err = capsys.readouterr().err
        assert f"skipped: {root / 'drawing.svg'}: it is an SVG (vector) file; export it as PNG or JPEG first" in err
        assert f"skipped: {root / 'notes.txt'}: it is a text file, not an image" in err
        assert "DS_Store" not in err and "._a.jpg" not in err and "anonymised/" not in err
        assert "3 anonymised, 0 failed, 2 skipped (not images we can read, named above)" in err
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "a.jpg", "a.json", RUN_REPORT, "lies.json", "lies.png", "sub", "sub/b.json", "sub/b.png"]
    rows = [json.loads(line) for line in (out / RUN_REPORT).read_text().splitlines()]
    assert rows == [{"input": str(root / "a.jpg"), "outcome": "anonymised"},
                    {"input": str(root / "lies.txt"), "outcome": "anonymised"},
                    {"input": str(root / "sub/b.png"), "outcome": "anonymised"},
                    {"input": str(root / "drawing.svg"), "outcome": "skipped",
                     "reason": "it is an SVG (vector) file; export it as PNG or JPEG first"},
                    {"input": str(root / "notes.txt"), "outcome": "skipped",
                     "reason": "it is a text file, not an image"}]
