"""Folders and object stores behind one interface (`pyarrow.fs`), so a batch reads `photos/` or
`s3://bucket/photos/` alike and writes the same layout: OUT/<relative stem>.<ext>.

A URI with a scheme pyarrow knows (s3, gs, hdfs, file) opens with pyarrow's own filesystem; any other scheme
fsspec knows is wrapped with `FSSpecHandler`; a plain path is a local folder. Writes never leave half a file:
local files are written to a temporary name and renamed, objects are uploaded in one request (an object store
shows an object only once its upload is complete).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pyarrow.fs as pafs

from anonymiser.images import write_atomic
from anonymiser.inputs import hidden


@dataclass(frozen=True)
class Location:
    """A folder or file: the filesystem that holds it, the path inside it, and the URI the user gave."""
    fs: pafs.FileSystem
    path: str
    uri: str

    @property
    def local(self) -> bool:
        return isinstance(self.fs, pafs.LocalFileSystem)

    def join(self, relative: str) -> str:
        return f"{self.path.rstrip('/')}/{relative}" if self.path else relative

    def display(self, path: str) -> str:
        """`path` (inside this filesystem) as the user would write it: with the URI's scheme when it had one."""
        scheme, sep, _ = self.uri.partition("://")  # options after `?` (endpoint_override=...) are not shown
        return f"{scheme}://{path.lstrip('/')}" if sep and not self.local else path


def locate(uri: str | Path) -> Location:
    """The filesystem and path of a folder, file or URI (`s3://bucket/photos`, `gs://...`, `memory://...`).

    S3 honours AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (an S3-compatible store: MinIO, Ceph, a local test
    server) as boto3 does; pyarrow itself reads only the credentials and region from the environment."""
    text = str(uri)
    if "://" not in text:
        return Location(pafs.LocalFileSystem(), os.path.abspath(text), text)  # symlinks kept, as the user named them
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if text.startswith("s3://") and endpoint and "endpoint_override=" not in text:
        text_with_options = f"{text}{'&' if '?' in text else '?'}endpoint_override={endpoint}"
    else:
        text_with_options = text
    try:
        fs, path = pafs.FileSystem.from_uri(text_with_options)
    except Exception:  # noqa: BLE001 - pyarrow rejects unknown schemes with ArrowInvalid; fsspec may know them
        import fsspec
        from pyarrow.fs import FSSpecHandler, PyFileSystem

        try:
            inner, path = fsspec.core.url_to_fs(text)
        except (ImportError, ValueError) as exc:
            raise ValueError(f"{text}: no filesystem for this URI ({exc})") from None
        fs = PyFileSystem(FSSpecHandler(inner))
    return Location(fs, path.rstrip("/") or path, text)


def kind(location: Location) -> str:
    """"dir", "file" or "missing"."""
    info = location.fs.get_file_info(location.path)
    if info.type == pafs.FileType.Directory:
        return "dir"
    return "file" if info.type == pafs.FileType.File else "missing"


def list_files(location: Location) -> list[tuple[str, str]]:
    """(path, path relative to the folder) of every file under it, sorted; hidden ones (a name starting with
    `.` anywhere in the path, such as an interrupted write's temporary file, .DS_Store, .git/) left out."""
    selector = pafs.FileSelector(location.path, recursive=True)
    found = []
    for info in location.fs.get_file_info(selector):
        relative = PurePosixPath(info.path[len(location.path):].lstrip("/"))
        if info.type == pafs.FileType.File and not any(hidden(part) for part in relative.parts):
            found.append((info.path, relative.as_posix()))
    return sorted(found)


def existing(location: Location) -> set[str]:
    """Paths relative to the folder of every file under it (empty when it does not exist): one listing, not
    one request per file, which matters on an object store."""
    if kind(location) != "dir":
        return set()
    selector = pafs.FileSelector(location.path, recursive=True)
    return {info.path[len(location.path):].lstrip("/") for info in location.fs.get_file_info(selector)
            if info.type == pafs.FileType.File}


def read_bytes(fs: pafs.FileSystem, path: str) -> bytes:
    with fs.open_input_stream(path) as stream:
        return stream.read()


def write_bytes(location: Location, relative: str, data: bytes) -> str:
    """Write `data` at the folder's `relative` path atomically; returns the path written."""
    path = location.join(relative)
    if location.local:
        write_atomic(Path(path), data)
    else:
        location.fs.create_dir(str(PurePosixPath(path).parent), recursive=True)
        with location.fs.open_output_stream(path) as stream:
            stream.write(data)
    return path
