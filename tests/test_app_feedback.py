"""The opt-in feedback section and the admin tab, through the running app (served with feedback and admin on)."""
import json
import zipfile
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from benchmarks.common import ui_inputs
from tests.conftest import EXAMPLES, phone_photo, served_app
from webapp.feedback import CONSENT_TEXT, FeedbackStore

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def with_feedback(tmp_path_factory):
    folder = tmp_path_factory.mktemp("feedback-app")
    env = {"ANONYMISER_FEEDBACK_DIR": str(folder / "feedback"), "ANONYMISER_ADMIN_PASSWORD": PASSWORD}
    with served_app(folder, **env) as url:
        yield url, FeedbackStore(folder / "feedback")


@pytest.fixture
def store(with_feedback):
    """The app's store, emptied before each test."""
    store = with_feedback[1]
    for entry in store.entries():
        store.delete(entry.id)
    return store


@pytest.fixture(scope="module")
def group_photo(tmp_path_factory) -> Path:
    """examples/group.jpg (four faces) as a phone uploads it: one face can be turned off and others stay on."""
    return phone_photo(EXAMPLES / "group.jpg", tmp_path_factory.mktemp("group"))


def components(url: str) -> list[dict]:
    return httpx.get(f"{url}config", timeout=30).json()["components"]


def open_photo_and_turn_one_off(url: str, photo: Path) -> tuple[Client, dict[str, list], str]:
    """A session with `photo` open and its first region turned off; returns the client, the UI inputs and the id."""
    client, inputs = Client(url, verbose=False), ui_inputs(url)
    outputs = client.predict(handle_file(str(photo)), *inputs["photo"][1:], api_name="/photo")
    regions = outputs[3]  # status, review picture, slider, region list (ids on), ...
    on = list(regions["value"] if isinstance(regions, dict) else regions)
    assert len(on) >= 2, on
    client.predict(on[1:], *inputs["pick"][1:], api_name="/pick")
    return client, inputs, on[0]


def tab_labels(config_components: list[dict]) -> set[str]:
    return {c["props"].get("label") for c in config_components if c["type"] == "tabitem"}


def test_the_consent_box_starts_unticked_and_says_what_is_stored(with_feedback):
    url, _ = with_feedback
    consent = [c["props"] for c in components(url) if c["props"].get("elem_id") == "consent"]
    assert len(consent) == 1 and consent[0]["value"] is False and consent[0]["info"] == CONSENT_TEXT
    assert "Admin" in tab_labels(components(url))


def test_feedback_and_admin_are_absent_unless_configured(app_url):
    """The session app runs without ANONYMISER_FEEDBACK_DIR and ANONYMISER_ADMIN_PASSWORD."""
    config = httpx.get(f"{app_url}config", timeout=30).json()
    assert not [c for c in config["components"] if c["props"].get("elem_id") == "consent"]
    assert "Admin" not in tab_labels(config["components"]) and "Many photos" in tab_labels(config["components"])
    assert not {"feedback", "admin_list", "admin_delete", "admin_export"} & {
        d.get("api_name") for d in config["dependencies"]}


def test_nothing_is_stored_without_consent(with_feedback, store, group_photo):
    url, _ = with_feedback
    client, inputs, _ = open_photo_and_turn_one_off(url, group_photo)
    for consent in (False, None):
        message, *_ = client.predict("she has a badge", consent, api_name="/feedback")
        assert "Nothing was stored" in message
    assert store.entries() == [] and not any(store.images.iterdir())


def test_with_consent_the_photo_and_its_corrections_are_stored_without_metadata(with_feedback, store, group_photo):
    url, _ = with_feedback
    client, inputs, turned_off = open_photo_and_turn_one_off(url, group_photo)
    message, consent, comment = client.predict("missed her badge", True, api_name="/feedback")
    assert consent is False and comment == ""  # unticked again: the next photo needs its own consent
    [entry] = store.entries()
    assert entry.id in message and entry.comment == "missed her badge"
    assert entry.corrections["turned_off"] == [turned_off]
    selected = {r["id"]: r["selected"] for r in entry.regions}
    assert selected[turned_off] is False and any(selected.values())
    with Image.open(entry.image_path) as im:
        assert im.size == (1920, 1280) and not im.getexif() and not im.info.get("exif")  # oriented, no GPS


def test_the_admin_lists_exports_and_deletes_with_the_password_only(with_feedback, store, group_photo, tmp_path):
    url, _ = with_feedback
    client, inputs, _ = open_photo_and_turn_one_off(url, group_photo)
    client.predict("", True, api_name="/feedback")
    [entry] = store.entries()
    admin = Client(url, verbose=False)
    for wrong in ("", "guess"):
        with pytest.raises(AppError, match="Wrong admin password"):
            admin.predict(wrong, api_name="/admin_list")
    rows = admin.predict(PASSWORD, api_name="/admin_list")
    assert [row[0] for row in rows["data"]] == [entry.id]
    coco_path, zip_path = admin.predict(PASSWORD, api_name="/admin_export")
    coco = json.loads(Path(coco_path).read_text())
    assert [im["feedback_id"] for im in coco["images"]] == [entry.id]
    assert len(coco["annotations"]) == sum(r["selected"] for r in entry.regions) > 0
    with zipfile.ZipFile(zip_path) as archive:
        assert sorted(archive.namelist()) == ["annotations.json", f"images/{entry.image_path.name}"]
    with pytest.raises(AppError, match="Wrong admin password"):
        admin.predict("guess", entry.id, api_name="/admin_delete")
    assert store.get(entry.id)
    rows, cleared = admin.predict(PASSWORD, entry.id, api_name="/admin_delete")
    assert cleared == "" and not any(row and row[0] == entry.id for row in rows["data"])
    assert store.entries() == [] and not entry.image_path.exists()
