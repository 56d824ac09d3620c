"""Hostile and broken input: every case ends in a clear one-sentence error or a correct, metadata-free output.

The inputs are made here, byte by byte where Pillow cannot write them (an EXIF block with a GPS IFD and an
IFD1 thumbnail, a PNG header declaring 100000x100000 pixels).
"""
from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms, ImageDraw, PngImagePlugin

from anonymiser.cli import main
from anonymiser.images import ImageError, load_image
from anonymiser.pipeline import anonymise_bytes
from anonymiser.render import render
from anonymiser.settings import Settings
from anonymiser.style import Style
from detectors.regions import Regions
from tests.conftest import ROOT

FACES = Settings.parse("faces")
NO_DETECTION = Settings.parse(kinds=[])
THUMB_MARK = b"THUMBNAIL-MARK"
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">SECRET-XMP</x:xmpmeta>'


def encoded(im: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return buf.getvalue()


def noise(width: int = 64, height: int = 48, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


# --- hand-made EXIF: IFD0 (make, orientation, GPS pointer) -> GPS IFD, IFD1 -> JPEG thumbnail ----------------

TIFF_SIZES = {2: 1, 3: 2, 4: 4, 5: 8}  # ASCII, SHORT, LONG, RATIONAL


def tiff_ifd(entries: list[tuple[int, int, object]], offset: int, next_ifd: int) -> bytes:
    """One little-endian IFD placed at `offset`, its out-of-line values right after it."""
    head, data = struct.pack("<H", len(entries)), b""
    data_at = offset + 2 + 12 * len(entries) + 4
    for tag, kind, value in sorted(entries):
        if kind == 2:
            raw = value.encode() + b"\0"
        elif kind == 5:
            raw = b"".join(struct.pack("<II", n, d) for n, d in value)
        else:
            raw = b"".join(struct.pack("<H" if kind == 3 else "<I", v) for v in value)
        if len(raw) <= 4:
            field = raw.ljust(4, b"\0")
        else:
            field = struct.pack("<I", data_at + len(data))
            data += raw + b"\0" * (len(raw) % 2)
        head += struct.pack("<HHI", tag, kind, len(raw) // TIFF_SIZES[kind]) + field
    return head + struct.pack("<I", next_ifd) + data


def exif_block(orientation: int, thumbnail: bytes) -> bytes:
    """APP1 payload: camera make, orientation, a GPS position (48.858 N, 2.294 E) and an IFD1 thumbnail."""
    gps = [(1, 2, "N"), (2, 5, [(48, 1), (51, 1), (30, 1)]), (3, 2, "E"), (4, 5, [(2, 1), (17, 1), (40, 1)])]

    def ifd0(gps_at: int) -> list:
        return [(0x010F, 2, "SpyCam"), (0x0112, 3, [orientation]), (0x8825, 4, [gps_at])]

    def ifd1(thumb_at: int) -> list:
        return [(0x0103, 3, [6]), (0x0201, 4, [thumb_at]), (0x0202, 4, [len(thumbnail)])]

    gps_at = 8 + len(tiff_ifd(ifd0(0), 0, 0))  # sizes do not depend on the offsets written
    ifd1_at = gps_at + len(tiff_ifd(gps, 0, 0))
    thumb_at = ifd1_at + len(tiff_ifd(ifd1(0), 0, 0))
    tiff = (b"II*\0" + struct.pack("<I", 8) + tiff_ifd(ifd0(gps_at), 8, ifd1_at) + tiff_ifd(gps, gps_at, 0)
            + tiff_ifd(ifd1(thumb_at), ifd1_at, 0) + thumbnail)
    return b"Exif\0\0" + tiff


def thumbnail() -> bytes:
    return encoded(Image.new("RGB", (16, 12), (0, 255, 0)), "JPEG", comment=THUMB_MARK)


def photo_with_metadata(fmt: str, orientation: int = 1, pixels: np.ndarray | None = None) -> bytes:
    """`fmt` file with EXIF (GPS, thumbnail), XMP, a comment and an ICC profile, as far as the format holds them."""
    im = Image.fromarray(noise() if pixels is None else pixels)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    options: dict = {"exif": exif_block(orientation, thumbnail()), "icc_profile": icc}
    if fmt == "JPEG":
        options |= {"xmp": XMP, "comment": b"secret note", "quality": 95}
    elif fmt == "WEBP":
        options |= {"xmp": XMP, "lossless": True}
    elif fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", XMP.decode())
        info.add_text("Comment", "secret note")
        options["pnginfo"] = info
    return encoded(im, fmt, **options)


def assert_no_metadata(data: bytes) -> Image.Image:
    """Re-open output bytes: no EXIF beyond a TIFF's structure, no GPS, thumbnail, XMP, comment or ICC."""
    out = Image.open(io.BytesIO(data))
    exif = out.getexif()
    assert 0x010F not in exif and 0x0112 not in exif and 0x8825 not in exif and 0x8769 not in exif
    assert not exif.get_ifd(0x8825) and not exif.get_ifd(-1)  # GPS IFD, IFD1 (thumbnail)
    assert not {"exif", "xmp", "XML:com.adobe.xmp", "comment", "Comment", "icc_profile"} & set(out.info)
    for secret in (b"SpyCam", THUMB_MARK, b"SECRET-XMP", b"secret note", b"Exif\0\0"):
        assert secret not in data
    assert data.count(b"\xff\xd8\xff") == (1 if out.format == "JPEG" else 0)  # no embedded JPEG thumbnail
    return out


# --- refused inputs -------------------------------------------------------------------------------------


def png_header(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR declaring `width` x `height`, with a tiny IDAT: a decompression bomb."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def truncated_jpeg() -> bytes:
    data = encoded(Image.fromarray(noise()), "JPEG")
    return data[: len(data) // 2]


REFUSED = {
    "empty.jpg": (b"", "empty"),
    "truncated.jpg": (truncated_jpeg(), "truncated or corrupt"),
    "header_only.jpg": (encoded(Image.fromarray(noise()), "JPEG")[:20], "not an image format"),
    "notes.jpg": (b"shopping list\nmilk\neggs\n", "text file"),
    "page.jpg": (b"<!DOCTYPE html>\n<html><body><img src=x onerror=alert(1)></body></html>", "HTML page"),
    "drawing.svg": (b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><rect/></svg>', "SVG"),
    "drawing_xml.jpg": (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG"),
    "bomb.png": (png_header(100_000, 100_000), "above the limit of 150 megapixels"),
    "just_over.png": (png_header(20_000, 10_000), "20000x10000 = 200 megapixels, above the limit"),
    "random.bin.png": (np.random.default_rng(1).bytes(4096), "not an image format"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unusable_input_is_refused_in_one_sentence(name):
    data, reason = REFUSED[name]
    with pytest.raises(ImageError) as caught:
        load_image(data)
    message = str(caught.value)
    assert reason in message and "\n" not in message


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow on the odd tags it meets
def test_corrupted_files_only_ever_raise_image_error():
    """Random byte flips in headers and truncations of every format: ImageError or a decoded image, nothing else."""
    rng = np.random.default_rng(7)
    exif = exif_block(6, thumbnail())
    im = Image.fromarray(noise())
    bases = [encoded(im, "JPEG", exif=exif), encoded(im, "PNG", exif=exif), encoded(im, "WEBP", exif=exif),
             encoded(im.convert("P"), "GIF"), encoded(im, "TIFF"), encoded(im, "BMP")]
    for base in bases:
        for _ in range(60):
            data = bytearray(base)
            for at in rng.integers(0, min(len(data), 400), rng.integers(1, 8)):
                data[at] = rng.integers(0, 256)
            if rng.random() < 0.3:
                data = data[: rng.integers(1, len(data))]
            try:
                loaded = load_image(bytes(data))
            except ImageError as exc:
                assert "\n" not in str(exc)
            else:
                assert loaded.pixels.dtype == np.uint8 and loaded.pixels.shape[2] in (3, 4)


# --- odd but valid inputs ---------------------------------------------------------------------------------


def grey16() -> bytes:
    ramp = (np.arange(48 * 64, dtype=np.uint32).reshape(48, 64) * 21).astype(np.uint16)
    return encoded(Image.fromarray(ramp), "PNG")


def rgb16() -> bytes:
    ok, png = cv2.imencode(".png", (noise().astype(np.uint16) * 257)[..., ::-1])
    assert ok
    return png.tobytes()


def palette_with_transparency() -> bytes:
    im = Image.fromarray(noise()).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return encoded(im, "PNG", transparency=int(np.asarray(im)[0, 0]))


def animated(fmt: str) -> bytes:
    frames = [Image.fromarray(noise(seed=s)) for s in range(3)]
    if fmt == "GIF":
        frames = [f.convert("P") for f in frames]
    return encoded(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0,
                   **({"lossless": True} if fmt == "WEBP" else {}))


# name -> (bytes, output format, output mode)
VALID = {
    "1x1": (encoded(Image.new("RGB", (1, 1), (10, 20, 30)), "PNG"), "PNG", "RGB"),
    "2x2": (encoded(Image.fromarray(noise(2, 2)), "PNG"), "PNG", "RGB"),
    "1x300": (encoded(Image.fromarray(noise(1, 300)), "PNG"), "PNG", "RGB"),
    "grey16": (grey16(), "PNG", "L"),
    "rgb16": (rgb16(), "PNG", "RGB"),
    "cmyk": (encoded(Image.fromarray(noise()).convert("CMYK"), "JPEG", quality=95), "JPEG", "RGB"),
    "palette_transparent": (palette_with_transparency(), "PNG", "RGBA"),
    "gif_animated": (animated("GIF"), "PNG", "RGB"),
    "webp_animated": (animated("WEBP"), "WEBP", "RGB"),
    "grey": (encoded(Image.fromarray(noise()).convert("L"), "PNG"), "PNG", "L"),
    "grey_jpeg": (encoded(Image.fromarray(noise()).convert("L"), "JPEG"), "JPEG", "L"),
    "grey_alpha": (encoded(Image.fromarray(noise()).convert("LA"), "PNG"), "PNG", "RGBA"),
    "one_bit": (encoded(Image.fromarray(noise()).convert("1"), "PNG"), "PNG", "L"),
    "bmp": (encoded(Image.fromarray(noise()), "BMP"), "BMP", "RGB"),
}


def first_frame(data: bytes) -> np.ndarray:
    """What the output should show when nothing is anonymised: the first frame as 8-bit RGB(A)."""
    im = Image.open(io.BytesIO(data))
    if im.mode == "I;16":
        grey = (np.asarray(im, np.float64) / 65535 * 255 + 0.5).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    return np.asarray(im.convert("RGBA" if "A" in im.mode or "transparency" in im.info else "RGB"))


@pytest.mark.parametrize("name", sorted(VALID))
def test_odd_images_come_out_with_their_size_mode_and_pixels(name):
    data, fmt, mode = VALID[name]
    outcome = anonymise_bytes(data, FACES)
    out = assert_no_metadata(outcome.data)
    assert out.format == fmt and out.mode == mode and out.size == Image.open(io.BytesIO(data)).size
    assert getattr(out, "n_frames", 1) == 1
    if not any(r["selected"] for r in outcome.report["regions"]):  # nothing anonymised: output = first frame
        expected = first_frame(data).astype(int)
        got = np.asarray(out.convert("RGBA" if expected.shape[2] == 4 else "RGB")).astype(int)
        if fmt == "JPEG":  # re-encoded at quality 95
            assert np.abs(got - expected).mean() < 4
        else:
            assert (got == expected).all()
    if name.endswith("animated"):
        assert "animated image with 3 frames: only the first frame is anonymised and written" in outcome.report["notes"]


def test_sixteen_bit_grey_keeps_its_range():
    loaded = load_image(grey16())
    ramp = (np.arange(48 * 64, dtype=np.uint32).reshape(48, 64) * 21).astype(np.uint16)
    assert loaded.grey and loaded.pixels.shape == (48, 64, 3)
    assert np.abs(loaded.pixels[..., 0].astype(int) - ramp / 65535 * 255).max() <= 1


def test_palette_transparency_is_kept_as_alpha():
    data = palette_with_transparency()
    im = Image.open(io.BytesIO(data))
    transparent = np.asarray(im) == im.info["transparency"]
    out = Image.open(io.BytesIO(anonymise_bytes(data, NO_DETECTION).data))
    alpha = np.asarray(out)[..., 3]
    assert (alpha[transparent] == 0).all() and (alpha[~transparent] == 255).all()


@pytest.mark.slow
def test_a_huge_image_within_the_limit_is_anonymised():
    """12000x9000 (108 MP, under the 150 MP limit): decoded, rendered and written at full size."""
    im = Image.new("RGB", (12_000, 9_000), (90, 120, 150))
    ImageDraw.Draw(im).ellipse((3000, 2000, 9000, 7000), fill=(200, 30, 30))
    data = encoded(im, "JPEG", quality=80)
    del im
    outcome = anonymise_bytes(data, NO_DETECTION)
    out = assert_no_metadata(outcome.data)
    assert out.size == (12_000, 9_000) and out.mode == "RGB"
    assert outcome.output.shape == (9_000, 12_000, 3)
    assert np.abs(outcome.output[4500, 6000].astype(int) - [200, 30, 30]).max() <= 8


# --- EXIF orientation and metadata ----------------------------------------------------------------------

# What each EXIF orientation asks the viewer to do to the stored pixels (EXIF 2.32, tag 0x0112).
ORIENTED = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],            # mirror left-right
    3: lambda a: a[::-1, ::-1],         # rotate 180
    4: lambda a: a[::-1],               # mirror top-bottom
    5: lambda a: a.transpose(1, 0, 2),  # mirror along the main diagonal
    6: lambda a: np.rot90(a, -1),       # rotate 90 clockwise
    7: lambda a: np.rot90(a, 2).transpose(1, 0, 2),  # mirror along the other diagonal
    8: lambda a: np.rot90(a, 1),        # rotate 90 counter-clockwise
}


@pytest.mark.parametrize("orientation", sorted(ORIENTED))
def test_every_exif_orientation_is_applied_and_then_dropped(orientation):
    stored = noise(6, 4, seed=orientation)
    data = photo_with_metadata("PNG", orientation, stored)
    loaded = load_image(data)
    assert (loaded.pixels == ORIENTED[orientation](stored)).all()
    outcome = anonymise_bytes(data, NO_DETECTION)
    out = assert_no_metadata(outcome.data)
    assert (np.asarray(out) == ORIENTED[orientation](stored)).all()
    assert (f"EXIF orientation {orientation} applied" in outcome.report["notes"]) == (orientation != 1)


def test_jpeg_orientation_swaps_the_output_size():
    data = photo_with_metadata("JPEG", 6, noise(64, 48))
    out = assert_no_metadata(anonymise_bytes(data, NO_DETECTION).data)
    assert out.size == (48, 64)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
def test_gps_thumbnail_xmp_and_comment_are_reported_and_never_written(fmt):
    data = photo_with_metadata(fmt, orientation=1)
    outcome = anonymise_bytes(data, FACES)
    removed = outcome.report["metadata_removed"]
    assert removed["camera_make"] == "SpyCam" and removed["gps"] == "48.85833, 2.29444"
    if fmt != "TIFF":  # Pillow's TIFF writer drops IFD1 and XMP when making the input
        assert removed["thumbnail"] and removed["xmp"]
        assert THUMB_MARK in data  # the input really carried them
    assert_no_metadata(outcome.data)
    for output_format in ("jpg", "png", "webp", "tiff", "bmp"):
        assert_no_metadata(anonymise_bytes(data, Settings.parse("faces", format=output_format)).data)


# --- regions the renderer must survive --------------------------------------------------------------------

IMAGE = noise(30, 20)


@pytest.mark.parametrize("method", ["mosaic", "pixelate", "blur", "fill"])
def test_boxes_outside_the_image_change_only_what_is_inside(method):
    boxes = [[-50, -50, -10, -10], [40, 30, 90, 60], [-5, -5, 8, 6], [25, 15, 100, 100], [7, 7, 7, 12],
             [12, 9, 4, 3]]
    regions = Regions.create(boxes, [1] * len(boxes), "thing", "test").numbered()
    out = render(IMAGE, regions, None, Style(method=method, shape="box", padding=0))
    changed = (out != IMAGE).any(axis=2)
    allowed = np.zeros_like(changed)
    allowed[0:6, 0:8] = allowed[15:20, 25:30] = True  # the parts of the two partial boxes inside the image
    assert not changed[~allowed].any()
    if method in ("fill", "mosaic"):  # on noise, blur and pixelate change almost every pixel too
        assert changed[0:6, 0:8].mean() > 0.9 and changed[15:20, 25:30].mean() > 0.9


def test_a_face_cut_by_the_edge_keeps_its_whole_ellipse():
    """The ellipse is the face's, not one inscribed in the visible part (which would spare the edge pixels)."""
    image = np.full((100, 100, 3), 200, np.uint8)
    face = Regions.create([[-20, 0, 20, 40]], [1], "face", "test")
    out = render(image, face, None, Style(method="fill", shape="ellipse", padding=0))
    assert (out[0:40, 0] == 0).all()  # the column at the edge is the ellipse's widest
    assert (out[0, 19] == 200).all() and (out[20, 19] == 0).all()


def test_zero_area_and_inverted_boxes_change_nothing():
    regions = Regions.create([[5, 5, 5, 15], [5, 5, 15, 5], [20, 10, 10, 2]], [1, 1, 1], "face", "test")
    for method in ("mosaic", "fill", "blur"):
        assert (render(IMAGE, regions, None, Style(method=method)) == IMAGE).all()


@pytest.mark.parametrize("box", [[np.nan, 0, 5, 5], [0, 0, np.inf, 5], [-np.inf, 0, 1, 1]])
def test_boxes_that_are_not_numbers_are_a_clear_error(box):
    regions = Regions.create([box], [1], "face", "test").numbered()
    with pytest.raises(ValueError, match="region face-1: box .* is not finite"):
        render(IMAGE, regions)


def test_a_mask_of_the_wrong_size_is_a_clear_error():
    regions = Regions.create([[0, 0, 5, 5]], [1], "person", "test", masks=[np.ones((10, 12), bool)]).numbered()
    with pytest.raises(ValueError, match="region person-1: mask is 12x10, image is 30x20"):
        render(IMAGE, regions)


def test_a_mask_of_the_right_size_in_another_dtype_works():
    mask = np.zeros((20, 30), np.uint8)
    mask[2:6, 3:9] = 255
    regions = Regions.create([[3, 2, 9, 6]], [1], "person", "test", masks=[mask])
    out = render(IMAGE, regions, None, Style(method="fill"))
    assert ((out != IMAGE).any(axis=2) == mask.astype(bool)).all()


def test_polygons_with_too_few_points_fall_back_to_the_box():
    for points in (np.zeros((0, 2)), np.array([[4.0, 4.0]]), np.array([[2.0, 2.0], [8.0, 8.0]])):
        regions = Regions.create([[2, 2, 8, 8]], [1], "text", "test", polygons=[points])
        out = render(IMAGE, regions, None, Style(method="fill", padding=0))
        assert (out[2:8, 2:8] == 0).all() and (out[10:] == IMAGE[10:]).all()


def test_an_image_of_the_wrong_shape_is_a_clear_error():
    with pytest.raises(ValueError, match="uint8"):
        render(IMAGE[..., 0], Regions.empty())
    with pytest.raises(ValueError, match="uint8"):
        render(IMAGE.astype(np.float32), Regions.empty())


def test_the_pipeline_with_a_given_selection(eval_dir):
    data = (eval_dir / "images" / "mpl_grace_hopper.jpg").read_bytes()
    found = anonymise_bytes(data, FACES)
    assert found.detection.selected.any()
    source = found.image.pixels
    nothing = anonymise_bytes(data, FACES, selection=[])
    assert (nothing.output == source).all() and not any(r["selected"] for r in nothing.report["regions"])
    first = str(found.detection.regions.ids[0])
    only = anonymise_bytes(data, FACES, selection=[first])
    assert (only.output != source).any()
    with pytest.raises(ValueError, match="entries"):
        anonymise_bytes(data, FACES, selection=[True] * (len(found.detection.regions) + 1))


# --- the CLI: one line per bad file, a correct output for each good one ------------------------------------


def hostile_folder(folder):
    folder.mkdir()
    for name, (data, _) in REFUSED.items():
        (folder / name).write_bytes(data)
    for name, (data, fmt, _) in VALID.items():
        (folder / f"{name}.{'jpg' if fmt == 'JPEG' else 'png'}").write_bytes(data)  # names may lie
    (folder / "gps.jpg").write_bytes(photo_with_metadata("JPEG", 6))
    return folder


def test_cli_names_each_bad_file_and_its_reason_on_one_line(tmp_path, capsys):
    folder = hostile_folder(tmp_path / "in")
    out = tmp_path / "out"
    code = main([str(folder), "--out", str(out), "--detect", "faces", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    refused = {name for name in REFUSED if not name.endswith(".svg")}  # .svg is not an image suffix: not collected
    lines = [line for line in err.splitlines() if line.startswith("failed: ")]
    assert len(lines) == len(refused)
    for name in refused:
        (line,) = [line for line in lines if f"/{name}: " in line]
        assert REFUSED[name][1] in line
    produced = {p.stem for p in out.iterdir()}
    assert produced == set(VALID) | {"gps"}
    for path in out.iterdir():
        assert_no_metadata(path.read_bytes())
    assert f"{len(VALID) + 1} anonymised, {len(refused)} failed" in err


def test_cli_as_a_program_prints_no_traceback(tmp_path):
    folder = hostile_folder(tmp_path / "in")
    names = ["bomb.png", "notes.jpg", "missing.jpg", "drawing.svg", "cmyk.jpg"]
    run = subprocess.run([sys.executable, "-m", "anonymiser", *(str(folder / n) for n in names),
                          "--out", str(tmp_path / "out"), "--detect", "faces"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert f"failed: {folder / 'bomb.png'}: the image is above the limit" in run.stderr
    assert f"failed: {folder / 'notes.jpg'}: it is a text file, not an image" in run.stderr
    assert f"failed: {folder / 'missing.jpg'}: no such file or folder" in run.stderr
    assert f"failed: {folder / 'drawing.svg'}: it is an SVG (vector) file" in run.stderr
    assert (tmp_path / "out" / "cmyk.jpg").is_file()
