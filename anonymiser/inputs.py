"""Which files the CLI anonymises. Every file of an input folder is either a job or named with the reason it
was skipped, never dropped silently; hidden files (.DS_Store, ._photo.jpg, anything in .git/) and the output
folder are never inputs. A file named on the command line is always tried: one that cannot be is a failure.

`kind_of` is the one place that tells a file's kind; a new kind (video) is one more branch there and one
more entry in KINDS.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from anonymiser.images import AVIF_SUPPORT, HEIF_SUPPORT, sniff_error
from anonymiser.video import looks_like_video

IMAGE = "image"
VIDEO = "video"
KINDS = (IMAGE, VIDEO)  # the kinds that become jobs; anything else kind_of returns is a reason to skip
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".apng", ".webp", ".tif", ".tiff", ".bmp",
                            ".dib", ".gif", ".ppm", ".pgm", ".pbm", ".pnm", ".tga", ".qoi"}
                           | ({".heic", ".heif", ".hif"} if HEIF_SUPPORT else set())
                           | ({".avif"} if AVIF_SUPPORT else set()))
# TIFF-based RAW files open in Pillow as their small embedded preview: anonymising that would look like success.
RAW_SUFFIXES = frozenset({".dng", ".cr2", ".cr3", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".orf", ".rw2", ".raf",
                          ".pef", ".srw", ".raw", ".3fr", ".erf", ".kdc", ".mrw", ".x3f"})
SYSTEM_FILES = frozenset({"thumbs.db", "desktop.ini", "icon\r"})  # hidden by the OS, not by their name


@dataclass(frozen=True)
class Job:
    source: Path
    relative: Path  # output path under --out, without suffix
    kind: str = IMAGE


@dataclass
class Collection:
    jobs: list[Job] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # folder files not read, with the reason
    failures: list[tuple[Path, str]] = field(default_factory=list)  # inputs that cannot be used at all


def kind_of(path: Path) -> str:
    """`"image"`, `"video"`, or the reason the file is not read. The suffix decides for known image formats; other files
    are opened, so a photo whose extension lies (or is missing) is still found."""
    suffix = path.suffix.lower()
    if suffix in RAW_SUFFIXES:
        return "it is a camera RAW file; export it as JPEG or TIFF first"
    if suffix in IMAGE_SUFFIXES:
        return IMAGE
    if looks_like_video(path):
        return VIDEO
    fmt = None
    try:
        with Image.open(path) as im:
            fmt = im.format
            im.load()  # some formats (MPEG, GRIB, ...) are identified but never decode
        return IMAGE
    except Image.DecompressionBombError:
        return IMAGE  # an image, too large: loading it says so
    except Exception:
        if fmt in readable_formats():
            return IMAGE  # a broken photo: loading it gives the reason, as for one with its right suffix
        if fmt:
            return f"it is {fmt}, a format this tool does not read"
        with path.open("rb") as fh:  # not identified: the first bytes tell what it is
            return sniff_error(fh.read(4096))


def readable_formats() -> set[str]:
    """Pillow's names for the formats of IMAGE_SUFFIXES (JPEG, PNG, ...)."""
    Image.init()
    extensions = Image.registered_extensions()
    return {extensions[suffix] for suffix in IMAGE_SUFFIXES if suffix in extensions}


def hidden(name: str) -> bool:
    return name.startswith(".") or name.lower() in SYSTEM_FILES


def folder_files(root: Path, out: Path | None) -> list[Path]:
    """Files under `root`, sorted, without hidden files or folders and without the output folder's contents."""
    skip_dir = out.resolve() if out is not None else None
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not hidden(d) and Path(folder, d).resolve() != skip_dir]
        found += [Path(folder, f) for f in files if not hidden(f)]
    return sorted(found)


def collect(inputs: list[Path], out: Path | None = None) -> Collection:
    """Jobs for `inputs` (files and folders, searched recursively); output paths keep folder structure."""
    result = Collection()
    for item in inputs:
        if item.is_dir():
            if out is not None and item.resolve() == out.resolve():
                result.failures.append((item, "it is the output folder; outputs would replace the originals"))
                continue
            for path in folder_files(item, out):
                kind = kind_of(path)
                if kind in KINDS:
                    result.jobs.append(Job(path, path.relative_to(item).with_suffix(""), kind))
                else:
                    result.skipped.append((path, kind))
        elif item.is_file():
            kind = kind_of(item)
            if kind not in KINDS:
                result.failures.append((item, kind))
            elif out is not None and (out / item.stem).resolve() == item.with_suffix("").resolve():
                result.failures.append((item, "its output would overwrite it (same folder, same name); "
                                              "choose another --out"))
            else:
                result.jobs.append(Job(item, Path(item.stem), kind))
        else:
            result.failures.append((item, "no such file or folder"))
    return result
