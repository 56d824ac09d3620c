"""Retention and access: files expire, the file route serves nothing else, sessions do not see each other,
and broken uploads get a sentence while the server stays up."""
import http.client
import json
import struct
import time
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from benchmarks.common import ui_inputs
from tests.conftest import EXAMPLES, ROOT, served_app
from webapp import session

KEEP_SECONDS = 10


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory):
    """The app in its own process, keeping files for KEEP_SECONDS."""
    folder = tmp_path_factory.mktemp("short-lived")
    with served_app(folder, ANONYMISER_KEEP_SECONDS=str(KEEP_SECONDS)) as url:
        yield url, folder


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def files_under(*folders: Path) -> set[Path]:
    """Files with content (Gradio's upload parser can leave an empty temporary file behind: nothing to keep)."""
    return {p for folder in folders for p in folder.rglob("*") if p.is_file() and p.stat().st_size}


def get_raw(url: str, path: str) -> tuple[int, bytes]:
    """GET `path` exactly as written: no client-side normalisation of `..` or percent escapes."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", path)
        reply = connection.getresponse()
        return reply.status, reply.read()
    finally:
        connection.close()


def open_photo(client: Client, inputs: dict[str, list], photo: Path) -> None:
    client.predict(handle_file(str(photo)), *inputs["photo"][1:], api_name="/photo")


def export_report(client: Client, inputs: dict[str, list]) -> dict:
    _, _, report = client.predict(*inputs["export"], api_name="/export")  # privacy text, image, report
    path = report["value"] if isinstance(report, dict) else report
    return json.loads(Path(path).read_text())


def test_uploads_previews_and_outputs_are_deleted_after_their_time_to_live(short_lived, exif_photo):
    url, folder = short_lived
    roots = (folder / "work", folder / "gradio")
    before = files_under(*roots)  # the examples, cached at start-up
    client = Client(url, verbose=False)
    open_photo(client, ui_inputs(url), exif_photo)
    created = files_under(*roots) - before  # taken after each call: the first call's may expire during the next
    client.predict(handle_file(str(exif_photo)), api_name="/anonymise")
    created |= files_under(*roots) - before
    names = {p.name for p in created}
    assert {"phone_photo.jpg", "preview.png", "phone_photo-anonymised.jpg"} <= names
    deadline = time.monotonic() + KEEP_SECONDS + 30
    while any(p.exists() for p in created) and time.monotonic() < deadline:
        time.sleep(1)
    assert not [p for p in created if p.exists()]
    assert all(p.exists() for p in before)  # the examples stay usable
    assert "deleted within 10 seconds" in json.dumps(client.config)


@pytest.mark.parametrize("path", [
    "/gradio_api/file=/etc/passwd",
    "/gradio_api/file=../../../../../../etc/passwd",
    "/gradio_api/file=%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/gradio_api/file=..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/gradio_api/file=%2Fetc%2Fpasswd",
    "/gradio_api/file=//etc/passwd",
    "/file=/etc/passwd",
])
def test_the_file_route_refuses_system_files(app_url, path):
    status, body = get_raw(app_url, path)
    assert status in (403, 404) and b"root:" not in body


@pytest.mark.parametrize("path", ["app.py", "webapp/feedback.py", "requirements.txt", ".git/config"])
def test_the_file_route_refuses_project_files(app_url, path):
    secret = (ROOT / path).read_bytes()[:40]
    for route in (f"/gradio_api/file={ROOT / path}", f"/gradio_api/file={path}", f"/gradio_api/file=./{path}"):
        status, body = get_raw(app_url, route)
        assert status in (403, 404) and secret not in body, route


def test_another_sessions_work_folder_is_not_served_and_its_name_cannot_be_guessed(app_url, client, exif_photo):
    before = set(session.WORK_ROOT.iterdir())
    open_photo(client, ui_inputs(app_url), exif_photo)
    folders = [f for f in set(session.WORK_ROOT.iterdir()) - before if (f / "preview.png").is_file()]
    assert folders
    for folder in folders:
        assert len(folder.name) == 32 and int(folder.name, 16) >= 0  # 128 random bits
        preview = folder / "preview.png"
        for route in (f"/gradio_api/file={preview}", f"/gradio_api/file={folder.name}/preview.png"):
            status, body = get_raw(app_url, route)
            assert status in (403, 404) and preview.read_bytes()[:64] not in body


def test_one_session_never_sees_another_sessions_photo_or_regions(app_url, eval_dir, exif_photo):
    inputs = ui_inputs(app_url)
    alice, bob = Client(app_url, verbose=False), Client(app_url, verbose=False)
    open_photo(alice, inputs, exif_photo)
    with pytest.raises(AppError, match="Upload a photo first"):
        bob.predict(*inputs["export"], api_name="/export")
    open_photo(bob, inputs, eval_dir / "images" / "ocv_imageTextN.png")
    alice_report, bob_report = export_report(alice, inputs), export_report(bob, inputs)
    assert alice_report["source"] == "phone_photo.jpg" and bob_report["source"] == "ocv_imageTextN.png"
    assert any(r["label"] == "face" for r in alice_report["regions"])
    alice_ids = {json.dumps(r["box"]) for r in alice_report["regions"]}
    assert not alice_ids & {json.dumps(r["box"]) for r in bob_report["regions"]}


def png_header(width: int, height: int) -> bytes:
    """A PNG signature and IHDR claiming `width` x `height` pixels, with one tiny IDAT: a decompression bomb's
    header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.jpg", lambda: b"", "the file is empty"),
    ("notes.jpg", lambda: b"milk, eggs, bread\n" * 20, "text file"),
    ("bomb.png", lambda: png_header(100_000, 100_000), "megapixels"),
    ("truncated.jpg", lambda: (EXAMPLES / "grace_hopper.jpg").read_bytes()[:20_000], "truncated or corrupt"),
])
@pytest.mark.parametrize("endpoint", ["/detect", "/anonymise"])
def test_a_broken_upload_gets_a_sentence_and_the_server_stays_up(client, tmp_path, name, content, message, endpoint):
    bad = tmp_path / name
    bad.write_bytes(content())
    with pytest.raises(AppError, match="This photo cannot be used") as caught:
        client.predict(handle_file(str(bad)), api_name=endpoint)
    assert message in str(caught.value) and "Traceback" not in str(caught.value)
    found = client.predict(handle_file(str(EXAMPLES / "grace_hopper.jpg")), "faces", api_name="/detect")
    assert any(r["selected"] for r in found["regions"])
