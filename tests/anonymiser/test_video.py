"""Videos: clip in, clip out (frames, rate, duration, audio, no metadata), every frame of a track anonymised,
stable over time, and each bad input refused with one sentence and no output left behind.

Clips are generated from the dev stills at test time (benchmarks/clips.py). Tests named `..._with_truth_detector`
use a test double for the detector that returns the clip's exact ground-truth boxes (and misses on purpose
where the test says): they check the plumbing, tracking and rendering, not a model. One test runs the real
default face detector.
"""
from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from anonymiser import video
from anonymiser.style import Style
from anonymiser.video import VideoError, VideoOptions, anonymise_video
from benchmarks.clips import Clip, camera_frames, pasted_frames, sprite, write_clip
from benchmarks.evalset import load_scorer
from detectors.engine import DetectionResult, detect
from detectors.regions import Regions

av = pytest.importorskip("av")
SIZE = (480, 270)
STRUCTURAL_TAGS = {"major_brand", "minor_version", "compatible_brands", "language", "handler_name"}


class TruthDetector:
    """Test double: the clip's true boxes, except on the frames in `misses` (counted in calls, i.e. frames)."""

    def __init__(self, clip: Clip, misses: set[int] = frozenset(), jitter: float = 0.0) -> None:
        self.clip, self.misses, self.calls = clip, misses, 0
        self.rng = np.random.default_rng(0)
        self.jitter = jitter

    def __call__(self, rgb: np.ndarray) -> DetectionResult:
        frame = self.calls
        self.calls += 1
        truth = [] if frame in self.misses else self.clip.truth[frame]
        boxes = np.asarray([box for _, box in truth], dtype=float).reshape(-1, 4)
        boxes = boxes + self.rng.uniform(-self.jitter, self.jitter, boxes.shape)
        found = Regions.merge([Regions.create(boxes[i:i + 1], [0.9], label, "truth")
                               for i, (label, _) in enumerate(truth)])
        return DetectionResult(found, np.ones(len(found), bool))


@pytest.fixture(scope="module")
def scorer(eval_dir: Path):
    return load_scorer(eval_dir)


@pytest.fixture(scope="module")
def camera_clip(tmp_path_factory, annotations, eval_image) -> Clip:
    """Three faces, the camera panning and zooming over them; AAC sound; phone-like tags."""
    name = "faceapi_sample1.jpg"
    faces = [(o["label"], o["box"]) for o in annotations[name]["objects"] if o["label"] == "face"]
    path = tmp_path_factory.mktemp("clips") / "camera.mov"
    return write_clip(path, camera_frames(eval_image(name), faces, SIZE, 30), SIZE)


def read_back(path: Path) -> dict:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(v)]
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return {"frames": frames, "rate": v.average_rate, "duration": c.duration, "tags": dict(c.metadata),
                "stream_tags": [dict(s.metadata) for s in c.streams], "size": (v.width, v.height),
                "audio": [(s.codec_context.name, s.codec_context.sample_rate) for s in c.streams.audio]}


def grey(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float64) @ [0.299, 0.587, 0.114]


def leaked_frames(scorer, clip: Clip, before: list[np.ndarray], after: list[np.ndarray]) -> list[int]:
    """Frames where any true object keeps >= 30% of its detail (score.py's measure, on its core)."""
    leaks = []
    for i, truth in enumerate(clip.truth):
        for _, box in truth:
            x0, y0, x1, y1 = scorer.core([int(round(v)) for v in box])
            if x1 - x0 >= 2 and y1 - y0 >= 2 and scorer.detail_kept(grey(before[i]), grey(after[i]),
                                                                    (x0, y0, x1, y1)) >= scorer.LEAK_DETAIL:
                leaks.append(i)
                break
    return leaks


def test_clip_in_clip_out_keeps_frames_rate_duration_audio_and_drops_metadata_with_truth_detector(camera_clip,
                                                                                                  tmp_path):
    out = tmp_path / "out.mp4"
    result = anonymise_video(camera_clip.path, out, TruthDetector(camera_clip))
    source, made = read_back(camera_clip.path), read_back(out)
    assert len(made["frames"]) == len(source["frames"]) == camera_clip.frames == result.frames
    assert made["rate"] == source["rate"] == Fraction(15)
    assert abs(made["duration"] - source["duration"]) <= 1e6 / 15  # microseconds: within one frame
    assert made["size"] == SIZE and made["audio"] == source["audio"] == [("aac", 48000)]
    assert set(source["tags"]) >= {"creation_time", "location", "make", "model"}  # the source did carry them
    assert set(made["tags"]) <= STRUCTURAL_TAGS
    assert all(set(tags) <= STRUCTURAL_TAGS for tags in made["stream_tags"])
    assert b"+48.8584" not in out.read_bytes() and b"Acme" not in out.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]  # no temporary file left


def test_every_frame_anonymised_including_forced_misses_before_between_and_after_with_truth_detector(
        camera_clip, tmp_path, scorer):
    misses = {0, 1, 2, 3, 4, 10, 11, 12, 17, 26, 27, 28, 29}  # before the first, between, after the last
    detector = TruthDetector(camera_clip, misses)
    out = tmp_path / "out.mp4"
    result = anonymise_video(camera_clip.path, out, detector)
    assert detector.calls == camera_clip.frames
    assert leaked_frames(scorer, camera_clip, read_back(camera_clip.path)["frames"], read_back(out)["frames"]) == []
    assert {t["frames_filled"] for t in result.to_json()["tracks"]} != {0}


def test_without_tracking_missed_frames_leak_with_truth_detector(camera_clip, tmp_path, scorer):
    """The counterpart of the test above: the same misses, frame by frame, do leak (so that test can fail)."""
    misses = {0, 1, 2, 10, 11}
    out = tmp_path / "out.mp4"
    anonymise_video(camera_clip.path, out, TruthDetector(camera_clip, misses), options=VideoOptions(track=False))
    leaks = leaked_frames(scorer, camera_clip, read_back(camera_clip.path)["frames"], read_back(out)["frames"])
    assert leaks == sorted(misses)


@pytest.mark.parametrize("method", ["auto", "mosaic"])
def test_averaging_a_tracked_face_over_frames_reveals_no_more_than_one_frame_with_truth_detector(
        method, tmp_path, annotations, eval_image, scorer):
    """A still face, boxes jittering by 3 px as a detector's do: the mean of its frames is scored like one frame."""
    name = "mpl_grace_hopper.jpg"
    still = eval_image(name)
    face = next(o["box"] for o in annotations[name]["objects"] if o["label"] == "face")
    face_sprite = sprite(still, "face", face, (150, 20), (150, 20), scale=0.6)
    clip = write_clip(tmp_path / "still.mov", pasted_frames(still, [face_sprite], SIZE, 24), SIZE, audio=False)
    out = tmp_path / "out.mp4"
    anonymise_video(clip.path, out, TruthDetector(clip, jitter=3.0), style=Style(method=method))
    before, after = read_back(clip.path)["frames"], read_back(out)["frames"]
    box = scorer.core([int(round(v)) for v in clip.truth[0][0][1]])
    single = max(scorer.detail_kept(grey(b), grey(a), box) for b, a in zip(before, after, strict=True))
    mean = scorer.detail_kept(grey(np.mean(before, axis=0)), grey(np.mean(after, axis=0)), box)
    assert mean < scorer.LEAK_DETAIL
    assert mean <= single + 0.05


def test_a_track_keeps_its_noise_from_frame_to_frame():
    """Same track, same box: the same mosaic in two frames (the default mosaic draws new noise every render)."""
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    from anonymiser.tracks import Track

    track = Track("face-1", "face", "t", np.array([0, 5]), np.array([[40, 30, 100, 100]] * 2, float),
                  np.array([0.9, 0.9]), True)
    track.cover(video.FillSettings(extend=0), 6)
    style = Style(method="mosaic")
    first, second = (video.render_frame(frame, i, [track], style, run_seed=7) for i in (0, 5))
    assert not np.array_equal(first, frame)
    assert np.array_equal(first, second)
    other = video.render_frame(frame, 0, [track], style, run_seed=8)
    assert not np.array_equal(first, other)  # a new run draws a new pattern


def test_rotation_is_applied_and_not_left_as_a_flag_with_truth_detector(tmp_path, camera_clip):
    frames = [(np.ascontiguousarray(f), []) for f in read_back(camera_clip.path)["frames"][:6]]
    clip = write_clip(tmp_path / "turned.mov", iter(frames), SIZE, audio=False, rotation=90)
    out = tmp_path / "out.mp4"
    anonymise_video(clip.path, out, TruthDetector(clip))
    with av.open(str(out)) as c:
        first = next(c.decode(video=0))
        assert (first.width, first.height) == (SIZE[1], SIZE[0]) and not first.rotation
        pixels = first.to_ndarray(format="rgb24")
    expected = np.rot90(frames[0][0], 1)
    assert np.abs(pixels.astype(int) - expected).mean() < 8


def test_variable_frame_rate_keeps_every_timestamp_with_truth_detector(tmp_path, camera_clip):
    """A phone-like clip whose frame intervals vary: each frame keeps its time, so the duration is kept too."""
    pixels = read_back(camera_clip.path)["frames"][:10]
    path = tmp_path / "vfr.mp4"
    times = [0, 1, 2, 4, 5, 9, 10, 11, 15, 16]  # in 1/30 s
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        for t, rgb in zip(times, pixels, strict=True):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = t, Fraction(1, 30)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    clip = Clip(path, 30, SIZE, [[] for _ in times])
    result = anonymise_video(path, tmp_path / "out.mp4", TruthDetector(clip))
    with av.open(str(tmp_path / "out.mp4")) as c:
        stream = c.streams.video[0]
        got = [round(float(f.pts * f.time_base) * 30) for f in c.decode(stream)]
    assert got == times
    assert any("variable frame rate" in note for note in result.notes)


def test_4k_clip_is_anonymised_at_full_size_with_truth_detector(tmp_path, eval_image):
    size = (3840, 2160)
    clip = write_clip(tmp_path / "uhd.mov", pasted_frames(eval_image("faceapi_sample1.jpg"), [], size, 3), size,
                      audio=False)
    result = anonymise_video(clip.path, tmp_path / "out.mp4", TruthDetector(clip))
    assert (result.info.width, result.info.height, result.frames) == (*size, 3)
    assert read_back(tmp_path / "out.mp4")["size"] == size


def bad_inputs(tmp: Path, clip: Clip) -> dict[str, tuple[Path, str]]:
    """name -> (file, words its one-sentence error must contain)."""
    data = clip.path.read_bytes()
    (tmp / "truncated.mov").write_bytes(data[: len(data) // 2])
    (tmp / "empty.mp4").write_bytes(b"")
    (tmp / "notes.mp4").write_text("not a video at all\n")
    for name, with_video in (("sound.m4a", False), ("no_frames.mkv", True)):
        with av.open(str(tmp / name), "w") as out:
            if with_video:  # a video stream that never gets a frame
                picture = out.add_stream("libx264", rate=25)
                picture.width, picture.height, picture.pix_fmt = 64, 64, "yuv420p"
            stream = out.add_stream("aac", rate=48000)
            stream.layout = "mono"
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 48000, 0
            out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
    return {"truncated": (tmp / "truncated.mov", "truncated"), "zero bytes": (tmp / "empty.mp4", "empty"),
            "text file": (tmp / "notes.mp4", "cannot be opened"),
            "audio only": (tmp / "sound.m4a", "audio file"), "zero-length clip": (tmp / "no_frames.mkv", "no frames")}


def test_each_bad_input_gets_one_sentence_and_leaves_no_output(tmp_path, camera_clip):
    inputs = tmp_path / "in"
    inputs.mkdir()
    cases = bad_inputs(inputs, camera_clip)
    out = tmp_path / "out"
    for name, (path, words) in cases.items():
        with pytest.raises(VideoError) as caught:
            anonymise_video(path, out / "x.mp4", TruthDetector(camera_clip))
        message = str(caught.value)
        assert words in message and "\n" not in message, (name, message)
    assert not out.exists() or list(out.iterdir()) == []


def test_a_clip_above_the_size_limit_is_refused_before_any_work(tmp_path, camera_clip, monkeypatch):
    monkeypatch.setattr(video, "MAX_VIDEO_PIXELS", 320 * 240)
    detector = TruthDetector(camera_clip)
    with pytest.raises(VideoError, match="480x270, above the limit"):
        anonymise_video(camera_clip.path, tmp_path / "x.mp4", detector)
    assert detector.calls == 0 and not (tmp_path / "x.mp4").exists()


def test_a_failure_while_encoding_leaves_no_half_written_file_with_truth_detector(tmp_path, camera_clip,
                                                                                  monkeypatch):
    def broken(*args, **kwargs):
        raise VideoError("the disk is full")

    monkeypatch.setattr(video, "render_frame", broken)
    with pytest.raises(VideoError, match="disk is full"):
        anonymise_video(camera_clip.path, tmp_path / "x.mp4", TruthDetector(camera_clip))
    assert list(tmp_path.iterdir()) == []


def test_recognised_as_video_by_content_not_only_by_name(tmp_path, camera_clip, eval_dir):
    renamed = tmp_path / "clip.bin"
    renamed.write_bytes(camera_clip.path.read_bytes())
    assert video.looks_like_video(renamed)
    assert not video.looks_like_video(eval_dir / "images" / "mpl_grace_hopper.jpg")


def test_real_face_detector_tracks_and_anonymises_a_short_clip(tmp_path, registry, annotations, eval_image, scorer):
    name = "faceapi_sample1.jpg"
    faces = [(o["label"], o["box"]) for o in annotations[name]["objects"] if o["label"] == "face"]
    clip = write_clip(tmp_path / "real.mov", camera_frames(eval_image(name), faces, (640, 360), 8), (640, 360),
                      audio=False)
    out = tmp_path / "out.mp4"
    result = anonymise_video(clip.path, out, lambda rgb: detect(rgb, ["faces"], registry=registry))
    assert len([t for t in result.tracks if t.selected]) >= 3
    assert leaked_frames(scorer, clip, read_back(clip.path)["frames"], read_back(out)["frames"]) == []


def test_cli_writes_clip_and_report_beside_photos_and_names_a_broken_clip(tmp_path, camera_clip, eval_dir, capsys):
    from anonymiser.cli import main

    inputs, out = tmp_path / "dashcam", tmp_path / "out"
    inputs.mkdir()
    (inputs / "clip.mov").write_bytes(camera_clip.path.read_bytes())
    (inputs / "cut.mp4").write_bytes(camera_clip.path.read_bytes()[:5000])
    (inputs / "photo.jpg").write_bytes((eval_dir / "images" / "mpl_grace_hopper.jpg").read_bytes())
    code = main([str(inputs), "--out", str(out), "--report", "--detect", "qr", "--no-progress", "--no-keep-audio"])
    assert code == 1  # the broken clip failed; the rest of the batch was written
    assert "cut.mp4: the video is damaged or truncated" in capsys.readouterr().err
    report = json.loads((out / "clip.json").read_text())
    assert report["frames"] == camera_clip.frames and report["audio"] == "dropped" and report["tracks"] == []
    assert read_back(out / "clip.mp4")["audio"] == [] and (out / "photo.jpg").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["anonymiser-run.jsonl", "clip.json", "clip.mp4", "photo.jpg",
                                                     "photo.json"]


def test_sound_mp4_cannot_hold_is_re_encoded_to_aac_with_truth_detector(tmp_path, camera_clip):
    """PCM (as in AVI or MKV camera files) has no place in MP4: it becomes AAC of the same rate and length."""
    pixels = read_back(camera_clip.path)["frames"][:15]
    path = tmp_path / "camera.mkv"
    with av.open(str(path), "w") as out:
        picture = out.add_stream("libx264", rate=15, options={"preset": "ultrafast"})
        picture.width, picture.height, picture.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        sound = out.add_stream("pcm_s16le", rate=32000)
        sound.layout = "mono"
        for i, rgb in enumerate(pixels):
            out.mux(picture.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
            chunk = av.AudioFrame.from_ndarray(np.zeros((1, 32000 // 15), np.int16), format="s16", layout="mono")
            chunk.sample_rate, chunk.pts = 32000, i * (32000 // 15)
            out.mux(sound.encode(chunk))
        out.mux(picture.encode(None))
        out.mux(sound.encode(None))
    clip = Clip(path, 15, SIZE, [[] for _ in pixels])
    result = anonymise_video(path, tmp_path / "out.mp4", TruthDetector(clip))
    assert result.audio == "re-encoded to aac (mp4 cannot hold pcm_s16le)"
    made = read_back(tmp_path / "out.mp4")
    assert made["audio"] == [("aac", 32000)] and len(made["frames"]) == 15
    assert abs(made["duration"] - 1e6) < 1e6 / 15


def test_cli_skip_existing_does_not_redo_a_finished_clip(tmp_path, camera_clip, capsys):
    from anonymiser.cli import main

    out = tmp_path / "out"
    args = [str(camera_clip.path), "--out", str(out), "--detect", "qr", "--no-progress", "--skip-existing"]
    assert main(args) == 0
    written = (out / "camera.mp4").stat().st_mtime_ns
    assert main(args) == 0
    assert (out / "camera.mp4").stat().st_mtime_ns == written
    assert "1 skipped (output exists)" in capsys.readouterr().err
