"""Video in, video out: two streaming passes with PyAV, so memory does not grow with the clip's length.

Pass 1 decodes and detects (every `stride`-th frame) and keeps boxes only; the tracks are then linked and
filled (anonymiser.tracks). Pass 2 decodes again, renders each frame from its tracks and encodes H.264 MP4:
same size (rotation applied), frame rate, timestamps and duration; audio copied (re-encoded to AAC only when
MP4 cannot hold it); no metadata from the source (no creation time, location, make/model or encoder tags).
The output is written to a temporary file beside the target and renamed when complete.

Each track is rendered with its own seed, so its noise is the same in every frame and moves with its box
(averaging frames does not cancel it). With method "auto" videos are filled, not mosaicked: a mosaic whose
grid shifts against the face from frame to frame samples it at new offsets, and many such frames can be
combined into a sharper face (multi-frame super-resolution); a fill carries nothing to combine.
"""
from __future__ import annotations

import json
import os
import secrets
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from anonymiser.images import ImageError, one_line, write_atomic
from anonymiser.render import render
from anonymiser.settings import Settings
from anonymiser.style import Style
from anonymiser.tracks import FillSettings, Track, TrackLinker, untracked
from detectors.engine import DetectionResult, detect
from detectors.regions import Regions
from detectors.registry import Registry

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi"})
MAX_VIDEO_PIXELS = int(os.environ.get("ANONYMISER_MAX_VIDEO_PIXELS", 4096 * 2304))  # 4K (DCI) and below
MP4_AUDIO = frozenset({"aac", "mp3", "opus", "alac", "ac3", "eac3", "flac"})  # copied as they are
IMAGE_DEMUXERS = ("image2", "gif", "apng", "webp")  # ffmpeg opens photos as one-frame "videos": not ours

Detect = Callable[[np.ndarray], DetectionResult]
Progress = Callable[[str, int, int], None]  # phase ("detect" | "render"), frames done, frames expected


class VideoError(ImageError):
    """A video that cannot be anonymised; the message is one sentence for the user."""


@dataclass(frozen=True)
class VideoOptions:
    stride: int = 1  # detect on every stride-th frame; the tracks fill the frames between
    track: bool = True
    keep_audio: bool = True
    fill: FillSettings = field(default_factory=FillSettings)
    crf: int = 20  # H.264 quality: lower is better and larger
    preset: str = "veryfast"


@dataclass
class VideoInfo:
    width: int  # as displayed, rotation applied
    height: int
    fps: Fraction
    frames: int  # as declared by the container (0 when it does not say)
    duration_s: float
    rotation: int
    audio: str | None


@dataclass
class VideoResult:
    info: VideoInfo
    frames: int
    tracks: list[Track]
    audio: str  # what happened to the sound
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"frames": self.frames, "fps": round(float(self.info.fps), 3), "width": self.info.width,
                "height": self.info.height, "duration_s": round(self.info.duration_s, 3), "audio": self.audio,
                "notes": self.notes, "tracks": [t.to_json() for t in self.tracks]}


def looks_like_video(path: Path) -> bool:
    """By content (MP4/MOV, Matroska/WebM, AVI signatures), or by extension so a broken clip gets a video error."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return (head[4:8] == b"ftyp" and head[8:12] not in (b"avif", b"avis", b"heic", b"heix", b"mif1", b"msf1")
            or head[:4] == b"\x1a\x45\xdf\xa3" or (head[:4] == b"RIFF" and head[8:12] == b"AVI ")
            or path.suffix.lower() in VIDEO_EXTENSIONS)


def open_input(path: Path):
    import av

    if not path.is_file() or path.stat().st_size == 0:
        raise VideoError("the file is empty")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise VideoError(f"the video is damaged or truncated and cannot be opened ({one_line(exc)})") from None
    if container.format.name.split(",")[0] in IMAGE_DEMUXERS or container.format.name.endswith("_pipe"):
        container.close()
        raise VideoError("it is a still image, not a video")
    if not container.streams.video:
        audio_only = bool(container.streams.audio)
        container.close()
        raise VideoError("it is an audio file with no picture to anonymise" if audio_only
                         else "it has no video stream")
    return container


def probe(path: Path) -> VideoInfo:
    """What the clip is (its first frame is decoded for the rotation); raises VideoError for what we cannot do."""
    container = open_input(path)
    try:
        stream = container.streams.video[0]
        fps = stream.average_rate or stream.guessed_rate or Fraction(0)
        first = next(frames_of(container), None)
        if first is None:
            raise VideoError("the video has no frames")
        height, width = first[1].shape[:2]
        duration = (float(stream.duration * stream.time_base) if stream.duration
                    else (container.duration or 0) / 1e6)
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
        info = VideoInfo(width, height, Fraction(fps), int(stream.frames or 0), duration,
                         turns_of(first[0]) * 90, audio)
    finally:
        container.close()
    if not info.fps:
        raise VideoError("the video stream has no frame rate; the file is damaged")
    if info.width * info.height > MAX_VIDEO_PIXELS:
        raise VideoError(f"the video is {info.width}x{info.height}, above the limit of "
                         f"{MAX_VIDEO_PIXELS / 1e6:.1f} megapixels per frame (set ANONYMISER_MAX_VIDEO_PIXELS)")
    return info


def turns_of(frame) -> int:
    """Quarter turns counter-clockwise that make the frame upright (from its display matrix)."""
    return int(round((frame.rotation or 0) / 90)) % 4


def upright(frame) -> np.ndarray:
    rgb = frame.to_ndarray(format="rgb24")
    turns = turns_of(frame)
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def frames_of(container) -> Iterator[tuple[Any, np.ndarray]]:
    """(frame, RGB pixels upright) for each decoded frame; damage surfaces as VideoError."""
    import av

    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    try:
        for frame in container.decode(stream):
            yield frame, upright(frame)
    except av.error.FFmpegError as exc:
        raise VideoError(f"the video is damaged or truncated and cannot be decoded ({one_line(exc)})") from None


def detect_pass(path: Path, detect: Detect, options: VideoOptions, info: VideoInfo,
                progress: Progress | None = None) -> tuple[list[Track], int, list[str]]:
    """Pass 1: decode, detect every `stride`-th frame, link tracks. Keeps boxes only."""
    linker = TrackLinker(float(info.fps))
    found: list[tuple[int, Regions, np.ndarray]] = []
    count, steps, notes = 0, set(), []
    container = open_input(path)
    try:
        last_pts = None
        for frame, rgb in frames_of(container):
            if frame.pts is not None and last_pts is not None:
                steps.add(frame.pts - last_pts)
            last_pts = frame.pts
            if count % options.stride == 0:
                result = detect(rgb)
                if options.track:
                    linker.add(count, result.regions, result.selected)
                else:
                    found.append((count, result.regions, result.selected))
            count += 1
            if progress:
                progress("detect", count, info.frames)
    finally:
        container.close()
    if count == 0:
        raise VideoError("the video has no frames")
    if info.frames and count < info.frames * 0.9:
        raise VideoError(f"the video is truncated: {count} of its {info.frames} frames could be read")
    if len(steps) > 1 and (max(steps) - min(steps)) > 0.1 * max(steps):
        notes.append("variable frame rate: every frame keeps its own timestamp")
    tracks = linker.tracks(count, options.fill) if options.track else untracked(found, count)
    return tracks, count, notes


def track_seed(run_seed: int, track: Track) -> int:
    """One seed per track and run: the same noise pattern in every frame of the track, new on every run."""
    return zlib.crc32(f"{run_seed}:{track.id}".encode())


def render_frame(rgb: np.ndarray, index: int, tracks: list[Track], style: Style, run_seed: int) -> np.ndarray:
    """The frame with each selected track's box at this frame anonymised, each with its own seed."""
    out = rgb
    for track in tracks:
        box = track.box_at(index) if track.selected else None
        if box is not None:
            region = Regions.create(box[None], [1.0], track.label, track.detector)
            out = render(out, region, None, style, seed=track_seed(run_seed, track))
    return out


def video_style(style: Style) -> Style:
    """Method "auto" fills in videos (see the module's docstring for why)."""
    return style.with_(method="fill") if style.method == "auto" else style


def anonymise_video(src: Path, dst: Path, detect: Detect, style: Style = Style(),
                    options: VideoOptions = VideoOptions(), progress: Progress | None = None,
                    selection: set[str] | None = None) -> VideoResult:
    """Anonymise `src` into `dst` (H.264 MP4). `selection`: track ids to anonymise instead of the defaults."""
    scanned = scan_video(src, detect, options, progress)
    if selection is not None:
        for track in scanned.tracks:
            track.selected = track.id in selection
    return write_video(src, dst, scanned, style, options, progress)


def scan_video(src: Path, detect: Detect, options: VideoOptions = VideoOptions(),
               progress: Progress | None = None) -> VideoResult:
    """Pass 1 alone (probe, detect, link): the tracks a user may review before `write_video`."""
    info = probe(Path(src))
    tracks, count, notes = detect_pass(Path(src), detect, options, info, progress)
    if info.width >= 3840:
        notes.append("4K: detection runs on the full frame, expect about 4x the time of 1080p")
    return VideoResult(info, count, tracks, "", notes)


def write_video(src: Path, dst: Path, scanned: VideoResult, style: Style = Style(),
                options: VideoOptions = VideoOptions(), progress: Progress | None = None) -> VideoResult:
    """Pass 2: render the selected tracks of `scanned` into `dst`, written whole or not at all."""
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    # Named like write_atomic's temporary files, so remove_stale_parts clears those of a killed run.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dst.name}.{os.getpid()}.", suffix=".part", dir=dst.parent)
    os.fchmod(fd, 0o644)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        audio = encode_pass(Path(src), tmp, scanned.tracks, video_style(style), options, scanned.info,
                            scanned.frames, progress)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return VideoResult(scanned.info, scanned.frames, scanned.tracks, audio, scanned.notes)


def detector_for(settings: Settings, registry: Registry) -> Detect:
    """The detector a clip's frames go through: the same kinds, thresholds and prompt as for photos."""
    return lambda rgb: detect(rgb, settings.kinds, settings.thresholds, registry, prompt=settings.prompt)


def anonymise_video_file(source: Path, target: Path, settings: Settings, registry: Registry,
                         options: VideoOptions = VideoOptions(), report: bool = False,
                         progress: Progress | None = None) -> VideoResult:
    """What the CLI does with a clip: `target` (.mp4) and, with `report`, `target`.json beside it."""
    result = anonymise_video(source, target, detector_for(settings, registry), settings.style, options, progress)
    if report:
        body = {"source": str(source), "settings": settings.to_json(), **result.to_json()}
        write_atomic(target.with_suffix(".json"), json.dumps(body, indent=1).encode())
    return result


def encode_pass(src: Path, tmp: Path, tracks: list[Track], style: Style, options: VideoOptions,
                info: VideoInfo, count: int, progress: Progress | None) -> str:
    """Pass 2: decode, render, encode; returns what happened to the audio."""
    import av

    source = open_input(src)
    # bitexact: no "encoder" tags from the muxer or the encoder; the source's metadata is never copied.
    output = av.open(str(tmp), "w", format="mp4", options={"fflags": "+bitexact"})
    try:
        in_video = source.streams.video[0]
        video = output.add_stream("libx264", rate=info.fps, options={"crf": str(options.crf),
                                                                     "preset": options.preset})
        video.width, video.height = info.width, info.height
        even = info.width % 2 == 0 and info.height % 2 == 0
        video.pix_fmt = "yuv420p" if even else "yuv444p"  # 4:2:0 needs even sizes
        video.time_base = in_video.time_base
        video.codec_context.time_base = in_video.time_base
        video.codec_context.flags |= av.codec.context.Flags.bitexact
        audio_in, audio_out, audio = audio_streams(source, output, options.keep_audio)
        for stream in output.streams:
            stream.metadata.clear()
        run_seed = secrets.randbits(32)
        index = 0
        streams = [in_video] + ([audio_in] if audio_in is not None else [])
        for packet in source.demux(streams):
            if packet.stream is audio_in:
                mux_audio(packet, audio_out, output, copy=audio.startswith("copied"))
                continue
            for frame in packet.decode():  # the demuxer ends with an empty packet, which flushes the decoder
                index = encode_frame(frame, index, tracks, style, run_seed, video, output)
                if progress:
                    progress("render", index, count)
        output.mux(video.encode(None))
        if audio_out is not None and not audio.startswith("copied"):
            output.mux(audio_out.encode(None))
    except av.error.FFmpegError as exc:
        raise VideoError(f"the video could not be re-encoded ({one_line(exc)})") from None
    finally:
        output.close()
        source.close()
    return audio


def encode_frame(frame, index: int, tracks: list[Track], style: Style, run_seed: int, video, output) -> int:
    import av

    out = av.VideoFrame.from_ndarray(render_frame(upright(frame), index, tracks, style, run_seed), format="rgb24")
    out.pts, out.time_base = frame.pts, frame.time_base
    if frame.duration:
        out.duration = frame.duration
    output.mux(video.encode(out))
    return index + 1


def audio_streams(source, output, keep: bool):
    """(input stream, output stream, what happens): copied when MP4 holds the codec, else re-encoded to AAC."""
    if not source.streams.audio:
        return None, None, "none"
    in_audio = source.streams.audio[0]
    name = in_audio.codec_context.name
    if not keep:
        return None, None, "dropped"
    if name in MP4_AUDIO:
        return in_audio, output.add_stream_from_template(in_audio), f"copied ({name})"
    out = output.add_stream("aac", rate=in_audio.codec_context.sample_rate or 48000)
    # Containers without a channel layout (PCM in MKV/AVI) say only "N channels": name the usual layout.
    channels = in_audio.codec_context.channels
    out.layout = {1: "mono", 2: "stereo"}.get(channels, in_audio.codec_context.layout.name)
    out.format = "fltp"  # what FFmpeg's AAC encoder takes
    return in_audio, out, f"re-encoded to aac (mp4 cannot hold {name})"


def mux_audio(packet, out_stream, output, copy: bool) -> None:
    if copy:
        if packet.size == 0:  # the demuxer's closing packet: nothing to copy
            return
        packet.stream = out_stream
        output.mux(packet)
        return
    for frame in packet.decode():
        frame.pts = None
        output.mux(out_stream.encode(frame))
