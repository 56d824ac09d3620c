"""End to end in headless Debian Chromium (Playwright): what a user does, checked on the downloaded file.

Screenshots of each step go to a temporary folder, or to $SCREENSHOTS (e.g. docs/screenshots) when set.
"""
import io
import os
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from anonymiser.images import load_image
from anonymiser.render import grown
from tests.conftest import downloads

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REGIONS = "#regions input[type=checkbox]"
TIMEOUT = 120_000  # ms; detection on a busy 2-core machine


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run ./setup.sh --dev (installs Debian's chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(app_url)
    yield page
    context.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def upload(page, path: Path) -> None:
    page.set_input_files("#photo input[type=file]", str(path))
    page.wait_for_function(f"document.querySelectorAll('{REGIONS}').length > 0")


def click_image_point(page, selector: str, x: float, y: float, width: int, height: int) -> None:
    """Click the displayed picture where image pixel (x, y) is (`width` x `height` is the image's size)."""
    left, top, shown_w, shown_h, natural_w, natural_h = page.locator(selector).evaluate(
        "e => { const r = e.getBoundingClientRect(); return [r.x, r.y, r.width, r.height, e.naturalWidth,"
        " e.naturalHeight] }")
    scale = min(1.0, shown_w / natural_w, shown_h / natural_h)  # object-fit: scale-down
    left += (shown_w - natural_w * scale) / 2
    top += (shown_h - natural_h * scale) / 2
    page.mouse.click(left + x * natural_w / width * scale, top + y * natural_h / height * scale)


def test_a_click_turns_a_face_off_and_the_download_keeps_exactly_that_face(page, app_url, exif_photo, shots):
    found = Client(app_url, verbose=False).predict(handle_file(str(exif_photo)), api_name="/detect")
    width, height = found["size"]
    regions = found["regions"]
    areas = [(r["box"][2] - r["box"][0]) * (r["box"][3] - r["box"][1]) if r["selected"] else 0 for r in regions]
    target = int(np.argmax(areas))
    page.screenshot(path=shots / "1-start.png", full_page=True)

    upload(page, exif_photo)
    page.wait_for_selector("#metadata:has-text('GPS position')")
    shown = sum(r["selected"] for r in regions)  # suggestions below the threshold are collapsed
    assert page.locator(REGIONS).count() == shown
    assert page.locator(REGIONS).evaluate_all("es => es.every(e => e.checked)")
    page.screenshot(path=shots / "2-detected.png", full_page=True)

    x0, y0, x1, y1 = regions[target]["box"]
    click_image_point(page, "#review img", (x0 + x1) / 2, (y0 + y1) / 2, width, height)
    page.wait_for_function(f"[...document.querySelectorAll('{REGIONS}')].filter(e => !e.checked).length === 1")
    page.screenshot(path=shots / "3-face-turned-off.png", full_page=True)

    page.get_by_label("PNG").check()
    page.click("#prepare")
    page.wait_for_selector("#download-image", state="visible")
    page.wait_for_selector("#privacy:has-text('turned off')")
    page.screenshot(path=shots / "4-ready-to-download.png", full_page=True)
    data, report, name = downloads(page)
    page.get_by_role("tab", name="Before / after").click()
    page.wait_for_timeout(500)
    page.screenshot(path=shots / "5-before-after.png")

    assert name == "phone_photo-anonymised.png"
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "PNG" and not im.getexif() and not im.info.get("exif") and not getattr(im, "text", {})
    out = load_image(data).pixels
    original = load_image(exif_photo.read_bytes()).pixels
    assert out.shape == original.shape == (height, width, 3)
    may_change = np.zeros((height, width), bool)
    for i, region in enumerate(regions):
        if region["selected"] and i != target:
            # the report's boxes are rounded to 0.1 px: allow one pixel more on each side
            gx0, gy0, gx1, gy1 = (int(v) for v in grown(np.asarray(region["box"]), report["style"]["padding"]))
            gx0, gy0, gx1, gy1 = gx0 - 1, gy0 - 1, gx1 + 1, gy1 + 1
            may_change[max(gy0, 0):gy1, max(gx0, 0):gx1] = True
            assert (out[max(gy0, 0):gy1, max(gx0, 0):gx1] != original[max(gy0, 0):gy1, max(gx0, 0):gx1]).any()
    assert not may_change.all()
    np.testing.assert_array_equal(out[~may_change], original[~may_change])  # the clicked face included
    def where(r: dict) -> tuple:
        return r["label"], *(round(v) for v in r["box"])

    expected = {where(r): i != target and r["selected"] for i, r in enumerate(regions)}
    assert {where(r): r["selected"] for r in report["regions"]} == expected
    assert report["metadata_removed"]["gps"] == "51.50000, -0.12500"


def wait_for_picture(page, canvas: str) -> None:
    """Wait until a 2D `canvas` shows a photo (many colours), as a user sees it before drawing on it."""
    page.wait_for_function("""s => { const c = document.querySelector(s); if (!c || !c.width || !c.height) return false;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, seen = new Set();
        for (let i = 0; i < d.length; i += 4 * 97) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        return seen.size > 100; }""", arg=canvas)


def test_boxes_drawn_and_areas_painted_become_regions(page, exif_photo, shots):
    """Drawn and added at once: the click sends the annotator's and the editor's values as they are then."""
    upload(page, exif_photo)
    before = page.locator(REGIONS).count()
    page.get_by_role("tab", name="Draw boxes").click()
    wait_for_picture(page, "#annotator canvas")
    box = page.locator("#annotator canvas").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.8)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.9, steps=8)
    page.mouse.up()
    page.get_by_role("button", name="Add these boxes as regions").click()
    page.wait_for_function(f"document.querySelectorAll('{REGIONS}').length === {before + 1}")

    page.get_by_role("tab", name="Paint areas").click()
    canvas = page.locator("#editor canvas").first  # WebGL: its pixels cannot be read back; strokes made
    canvas.wait_for(state="visible")  # before its picture shows are kept (no event refills it on opening)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.3, steps=4)  # WebGL is slow here
    page.mouse.up()
    page.screenshot(path=shots / "6-painting.png")
    page.get_by_role("button", name="Add painted areas as regions").click()
    page.wait_for_function(f"document.querySelectorAll('{REGIONS}').length === {before + 2}")
    labels = page.locator("#regions label").all_inner_texts()
    assert sum("manual (drawn by you)" in text for text in labels) == 2
    assert page.locator(REGIONS).evaluate_all("es => es.slice(-2).every(e => e.checked)")
    page.get_by_role("tab", name="Review").click()
    page.wait_for_timeout(500)
    page.screenshot(path=shots / "7-manual-regions.png")
