"""Reading and writing image files safely: EXIF orientation applied, odd modes normalised, huge or
broken files refused with a clear sentence, and outputs written with no metadata, atomically."""
from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import ExifTags, Image, IptcImagePlugin, UnidentifiedImageError, features

try:  # HEIC/HEIF (iPhone photos): pinned in requirements.txt, optional for the library
    from pillow_heif import register_heif_opener
except ImportError:
    HEIF_SUPPORT = False
else:
    register_heif_opener()
    HEIF_SUPPORT = True
AVIF_SUPPORT = features.check("avif")

MAX_PIXELS = int(os.environ.get("ANONYMISER_MAX_PIXELS", 150_000_000))
OUTPUT_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "TIFF": "tiff", "BMP": "bmp"}
# `--format same` for formats that cannot be written: photos stay JPEG, the rest (GIF, ...) become PNG.
SAME_AS = {"MPO": "JPEG", "HEIF": "JPEG", "AVIF": "JPEG"}
FORMAT_ALIASES = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "tif": "TIFF", "tiff": "TIFF",
                  "bmp": "BMP"}

# What EXIF orientation 2-8 asks a viewer to do. Applied here rather than by ImageOps.exif_transpose, which
# re-serialises the EXIF it is about to lose and fails on some (e.g. once its IFD1 thumbnail has been read).
ORIENTATION_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                         4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                         6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}

# Pillow's own bomb guard is process-wide (it also protects whatever else decodes images here, e.g. the web
# framework): make it our limit. It raises at twice the limit; between 1x and 2x it only warns and our check
# in load_image gives the size. (Its warnings, like those on odd tags, are silenced by the CLI, not here:
# warnings.catch_warnings is not thread-safe.)
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class ImageError(ValueError):
    """An input that cannot be anonymised; the message is one sentence for the user."""


@dataclass
class LoadedImage:
    """Pixels as uint8 RGB or RGBA (alpha kept), EXIF-oriented, plus what the file carried."""

    pixels: np.ndarray
    format: str
    original_mode: str
    metadata_found: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def rgb(self) -> np.ndarray:
        """The three colour channels, what detectors look at."""
        return self.pixels[..., :3]

    @property
    def grey(self) -> bool:
        return self.original_mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")


# The ISO-BMFF brands of HEIF and AVIF photos (bytes 8-12 of the file, after "ftyp").
HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")
AVIF_BRANDS = (b"avif", b"avis")


def sniff_error(data: bytes) -> str:
    """Why `data` is not an image Pillow reads here, from its first bytes, in words a user recognises."""
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS + AVIF_BRANDS:
        name, supported = ("HEIC/HEIF", HEIF_SUPPORT) if data[8:12] in HEIF_BRANDS else ("AVIF", AVIF_SUPPORT)
        if not supported:
            return f"it is a {name} photo and {name} support is not installed (pip install pillow-heif)"
        return f"it is a {name} file this tool cannot decode"
    head = data[:512].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:4096].lower()):
        return "it is an SVG (vector) file; export it as PNG or JPEG first"
    if head.startswith((b"<!doctype html", b"<html")):
        return "it is an HTML page, not an image"
    if head and all(32 <= c < 127 or c in (9, 10, 13) for c in head[:256]):
        return "it is a text file, not an image"
    return "it is not an image format this tool reads (JPEG, PNG, WebP, TIFF, BMP, GIF, ...)"


def load_image(data: bytes) -> LoadedImage:
    """Decode `data`; raises ImageError with a user-facing reason for anything unusable."""
    if not data:
        raise ImageError("the file is empty")
    try:
        im = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageError(sniff_error(data)) from None
    except Image.DecompressionBombError:
        raise ImageError(f"the image is above the limit of {MAX_PIXELS / 1e6:.0f} megapixels "
                         "(set ANONYMISER_MAX_PIXELS to change it)") from None
    except Exception as exc:  # Pillow raises many types on hostile headers
        raise ImageError(f"the file is not a readable image ({one_line(exc)})") from None
    width, height = im.size
    if width < 1 or height < 1:
        raise ImageError(f"the image has no pixels ({width}x{height})")
    if width * height > MAX_PIXELS:
        raise ImageError(f"the image is {width}x{height} = {width * height / 1e6:.0f} megapixels, above the "
                         f"limit of {MAX_PIXELS / 1e6:.0f} megapixels (set ANONYMISER_MAX_PIXELS to change it)")
    try:  # metadata, frame count and pixels all read the rest of the file: any of them can meet corruption
        found = describe_metadata(im)
        shown = im.tell()  # the first frame, or a HEIF file's primary picture
        frames = getattr(im, "n_frames", 1)
        im.seek(shown)
        im.load()
        orientation = found.get("exif_orientation")
        pixels = to_uint8(im.transpose(ORIENTATION_TRANSPOSE[orientation]) if orientation else im)
    except Exception as exc:
        raise ImageError(f"the file is truncated or corrupt ({one_line(exc)})") from None
    notes = [frames_note(im.format, frames)] if frames > 1 else []
    if "exif_orientation" in found:
        notes.append(f"EXIF orientation {found['exif_orientation']} applied")
    return LoadedImage(pixels, im.format or "PNG", im.mode, found, notes)


def frames_note(fmt: str | None, frames: int) -> str:
    """What was left out of a file holding several pictures: the user must know those were not anonymised."""
    if fmt == "TIFF":
        return f"multi-page TIFF with {frames} pages: only the first page is anonymised and written"
    if fmt in ("MPO", "HEIF"):
        return (f"the file holds {frames} pictures (previews, depth maps or a burst): only the main photo is "
                "anonymised and written")
    return f"animated image with {frames} frames: only the first frame is anonymised and written"


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (OpenCV's and libtiff's span several)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def to_uint8(im: Image.Image) -> np.ndarray:
    """RGB or RGBA uint8, whatever the mode (palette, CMYK, 16-bit, grey, 1-bit)."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        peak = 65535.0 if a.max(initial=0) > 255 else 255.0
        grey = np.clip(a / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in im.info)
    target = "RGBA" if has_alpha else "RGB"
    return np.asarray(im if im.mode == target else im.convert(target))


def describe_metadata(im: Image.Image) -> dict[str, Any]:
    """What the file carries besides pixels: this is what the output removes (ICC colour profile aside)."""
    found: dict[str, Any] = {}
    exif = im.getexif()
    if len(exif):
        found["exif_tags"] = len(exif)
        names = {ExifTags.Base.Make: "camera_make", ExifTags.Base.Model: "camera_model",
                 ExifTags.Base.DateTime: "date_time", ExifTags.Base.Software: "software",
                 ExifTags.Base.Artist: "artist", ExifTags.Base.Copyright: "copyright"}
        for tag, key in names.items():
            if tag in exif:
                found[key] = str(exif[tag]).strip("\x00 ")[:80]
        if exif.get(ExifTags.Base.Orientation, 1) in ORIENTATION_TRANSPOSE:
            found["exif_orientation"] = int(exif[ExifTags.Base.Orientation])
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        if gps:
            found["gps"] = gps_summary(gps)
        if exif.get_ifd(ExifTags.IFD.IFD1):
            found["thumbnail"] = True
    if im.info.get("xmp") or im.info.get("XML:com.adobe.xmp"):
        found["xmp"] = True
    try:
        if IptcImagePlugin.getiptcinfo(im):
            found["iptc"] = True
    except Exception:  # malformed IPTC is still IPTC: it is dropped either way
        found["iptc"] = True
    comment = im.info.get("comment")
    if comment:
        found["comment"] = True
    text = {k: v for k, v in getattr(im, "text", {}).items() if not k.startswith("XML:com.adobe.xmp")} \
        if im.format == "PNG" else {}
    if text:
        found["text_chunks"] = sorted(text)[:20]
    if im.info.get("icc_profile"):
        found["icc_profile"] = "dropped; pixels are written as they were decoded"
    return found


def gps_summary(gps: dict) -> str:
    """Human-readable position, so the user sees what would have leaked."""
    def degrees(value: Any) -> float:
        d, m, s = (float(v) for v in value)
        return d + m / 60 + s / 3600
    try:
        lat = degrees(gps[2]) * (-1 if gps.get(1) == "S" else 1)
        lon = degrees(gps[4]) * (-1 if gps.get(3) == "W" else 1)
        return f"{lat:.5f}, {lon:.5f}"
    except Exception:
        return "present (position unreadable)"


def output_format(requested: str, input_format: str) -> str:
    """`same` keeps the input's format where it can be written losslessly enough; GIF and others become PNG."""
    if requested == "same":
        return input_format if input_format in OUTPUT_FORMATS else SAME_AS.get(input_format, "PNG")
    try:
        return FORMAT_ALIASES[requested.lower()]
    except KeyError:
        raise ImageError(f"unknown output format {requested!r}; use same, png, jpg, webp, tiff or bmp") from None


def encode_image(pixels: np.ndarray, fmt: str, grey: bool = False) -> bytes:
    """Encode from bare pixels: a fresh image carries no EXIF, XMP, IPTC, comments or thumbnail."""
    im = Image.fromarray(pixels)
    if grey and im.mode == "RGB":
        im = im.convert("L")
    if fmt in ("JPEG", "BMP") and im.mode == "RGBA":
        im = im.convert("RGB")  # these formats have no alpha channel
    options: dict[str, Any] = {
        "JPEG": {"quality": 95, "subsampling": 0, "optimize": False},
        "PNG": {"compress_level": 1},
        "WEBP": {"lossless": True},
        "TIFF": {"compression": "tiff_deflate"},
    }.get(fmt, {})
    buf = io.BytesIO()
    im.save(buf, format=fmt, **options)
    return buf.getvalue()


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write to a temporary file beside `path`, then rename: a reader never sees half a file.

    The temporary name carries this process's id, so `remove_stale_parts` can tell a killed run's
    leftovers from a running one's. `mode` is set explicitly: mkstemp would leave the file private (0600).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale_parts(folder: Path) -> int:
    """Delete the temporary files of `write_atomic` calls whose process is gone (killed with SIGKILL, say)."""
    removed = 0
    for part in folder.rglob(".*.part") if folder.is_dir() else []:
        pid = part.name.split(".")[-3]
        if pid.isdigit() and not process_alive(int(pid)):
            part.unlink(missing_ok=True)
            removed += 1
    return removed


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user
    return True
