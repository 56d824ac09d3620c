"""The Live tab in headless Chromium, whose fake camera plays dev faces moving across the frame: anonymised
frames keep arriving, the faces in them are covered (score.py's measure), and nothing is written to disk."""
import os
from pathlib import Path

import pytest
from PIL import Image

from benchmarks import live as bench
from tests.conftest import served_app
from tests.test_app_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser
WATCH_SECONDS = 20


@pytest.fixture(scope="module")
def clip(eval_dir):
    return list(bench.moving_faces(bench.CLIP_FRAMES, eval_dir))


@pytest.fixture(scope="module")
def camera(clip, tmp_path_factory) -> Path:
    return bench.write_y4m(tmp_path_factory.mktemp("camera") / "clip.y4m", (f for f, _ in clip), bench.CLIP_FPS)


def files_under(folder: Path) -> set[Path]:
    return {Path(root) / name for root, _, names in os.walk(folder) for name in names}


def test_the_live_tab_keeps_showing_frames_with_the_faces_covered(clip, camera, eval_dir, tmp_path):
    from playwright.sync_api import sync_playwright

    with served_app(tmp_path) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            *CHROMIUM_ARGS, *bench.CAMERA_ARGS, f"--use-file-for-fake-video-capture={camera}"])
        before = files_under(tmp_path / "gradio") | files_under(tmp_path / "work")
        try:
            shown = bench.watch_live_tab(browser, url, WATCH_SECONDS, snapshot=tmp_path / "snapshot.jpg")
        finally:
            browser.close()
        written = (files_under(tmp_path / "gradio") | files_under(tmp_path / "work")) - before
    snapshots = {path for path in written if path.name.startswith("snapshot-") and path.suffix == ".jpg"}
    assert snapshots, written  # the snapshot asked for (and Gradio's copy), kept as long as photo downloads
    with Image.open(tmp_path / "snapshot.jpg") as im:
        assert im.size == (640, 480) and not im.getexif() and "exif" not in im.info
    assert len(shown.frames) >= 10, f"only {len(shown.frames)} frames in {WATCH_SECONDS} s"
    assert shown.times[-1] > WATCH_SECONDS / 2, "frames stopped arriving"
    assert all(frame.shape == (480, 640, 3) for frame in shown.frames)
    verdict = bench.judge(shown.frames, clip, bench.load_score(eval_dir))
    assert verdict.judged >= len(shown.frames) // 2, f"{verdict.stalled} of {len(shown.frames)} frames after stalls"
    assert not verdict.bare, f"faces shown bare in frames {verdict.bare} of {len(shown.frames)}"
    assert not written - snapshots, f"the stream left files: {sorted(map(str, written - snapshots))[:5]}"
