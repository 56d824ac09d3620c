"""Detections over frames -> tracks whose boxes cover every frame the object is in, not only detected ones.

Linking uses ByteTrack from the maintained `trackers` package (one tracker per label, so a face never
continues as a plate). A track's box is interpolated between its detections, and carried backwards from its
first detection and forwards from its last for `extend` frames (the object was there, just not detected yet),
each filled box grown with its distance to the nearest detection: the further from evidence, the less we know
where the object is. Tracks are kept as boxes only (a few numbers per detection), so memory stays small.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from detectors.regions import Regions

# A track is selected if any of its detections cleared its kind's threshold, or if it was detected in at
# least this many frames (a face found again and again just below the threshold is not flicker). A one-frame
# low-score track stays a suggestion, as a low-score region does on a photo.
PERSISTENT_FRAMES = 3


@dataclass(frozen=True)
class FillSettings:
    """How far a track is carried beyond its detections, and how fast its box grows with the distance."""

    extend: int = 15  # frames before the first and after the last detection
    growth: float = 0.04  # fraction of the box's size added per side, per frame away from a detection
    max_growth: float = 0.5
    velocity_window: int = 5  # detections used to estimate the motion carried past the ends


@dataclass
class Track:
    """One object over time: its detections (frames, boxes, scores) and whether it is anonymised."""

    id: str
    label: str
    detector: str
    frames: np.ndarray  # sorted frame indices where it was detected
    boxes: np.ndarray  # (n, 4) float
    scores: np.ndarray
    selected: bool
    first: int = 0  # first and last frame covered once filled
    last: int = 0
    fill: FillSettings = field(default_factory=FillSettings)

    def cover(self, fill: FillSettings, frame_count: int) -> None:
        """Set the frames the track covers: its detections plus `fill.extend` either side, inside the clip."""
        self.fill = fill
        self.first = max(0, int(self.frames[0]) - fill.extend)
        self.last = min(frame_count - 1, int(self.frames[-1]) + fill.extend)

    def box_at(self, frame: int) -> np.ndarray | None:
        """The box at `frame` (detected, interpolated or carried), grown with its uncertainty; None outside."""
        if not self.first <= frame <= self.last:
            return None
        frames, boxes = self.frames, self.boxes
        if frame < frames[0]:
            distance = int(frames[0] - frame)
            box = boxes[0] - self._velocity(head=True) * distance
        elif frame > frames[-1]:
            distance = int(frame - frames[-1])
            box = boxes[-1] + self._velocity(head=False) * distance
        else:
            at = int(np.searchsorted(frames, frame))
            distance = 0 if frames[at] == frame else int(min(frames[at] - frame, frame - frames[at - 1]))
            box = np.array([np.interp(frame, frames, boxes[:, k]) for k in range(4)])
        grow = min(self.fill.max_growth, self.fill.growth * distance)
        w, h = box[2] - box[0], box[3] - box[1]
        return (box + np.array([-w, -h, w, h]) * grow).astype(np.float32)

    def _velocity(self, head: bool) -> np.ndarray:
        """Mean per-frame motion of the box over the first (head) or last few detections."""
        k = min(len(self.frames), self.fill.velocity_window)
        if k < 2:
            return np.zeros(4)
        frames, boxes = (self.frames[:k], self.boxes[:k]) if head else (self.frames[-k:], self.boxes[-k:])
        return (boxes[-1] - boxes[0]) / max(1, int(frames[-1] - frames[0]))

    @property
    def frames_detected(self) -> int:
        return len(self.frames)

    def to_state(self) -> dict:
        """Everything needed to render the track again (for an app session that renders after a review)."""
        return {**self.to_json(), "detector": self.detector, "frames": self.frames.tolist(),
                "boxes": self.boxes.tolist(), "scores": self.scores.tolist(), "extend": self.fill.extend,
                "growth": self.fill.growth}

    @classmethod
    def from_state(cls, state: dict) -> Track:
        track = cls(state["id"], state["label"], state["detector"], np.asarray(state["frames"], dtype=int),
                    np.asarray(state["boxes"], dtype=float).reshape(-1, 4), np.asarray(state["scores"]),
                    bool(state["selected"]), int(state["first_frame"]), int(state["last_frame"]),
                    FillSettings(extend=int(state["extend"]), growth=float(state["growth"])))
        return track

    def to_json(self) -> dict:
        covered = self.last - self.first + 1
        return {"id": self.id, "label": self.label, "first_frame": self.first, "last_frame": self.last,
                "frames_detected": self.frames_detected, "frames_filled": covered - self.frames_detected,
                "selected": self.selected, "max_score": round(float(self.scores.max()), 4)}


@dataclass
class _Pending:
    """A detection not yet given to a track: ByteTrack names a track only from its second match."""

    frame: int
    box: np.ndarray
    score: float
    selected: bool
    detector: str


class TrackLinker:
    """Feed it each detected frame's regions in order; `tracks()` gives the linked tracks.

    Suggestions start and continue tracks like selected regions (a face found again and again just below its
    threshold must become one track, to be promoted); whether a track is selected is decided at the end.
    """

    def __init__(self, fps: float, lost_seconds: float = 1.0) -> None:
        self.fps = fps
        self.lost_frames = max(1, round(30 * lost_seconds))  # ByteTrack counts its buffer in 30-fps frames
        self._trackers: dict[str, object] = {}
        self._detections: dict[tuple[str, int], list[_Pending]] = {}
        # id(tracklet) -> (tracklet, label, its first detection), until ByteTrack gives the tracklet an id
        self._pending: dict[int, tuple[object, str, _Pending]] = {}
        self._singles: list[tuple[str, _Pending]] = []

    def add(self, frame: int, regions: Regions, selected: np.ndarray) -> None:
        """One detected frame (frames must come in increasing order; skipped frames are fine)."""
        for label in sorted(set(map(str, regions.labels)) | set(self._trackers)):
            keep = regions.labels.astype(str) == label
            self._add_label(label, frame, regions[keep], np.asarray(selected, bool)[keep])

    def _tracker(self, label: str):
        if label not in self._trackers:
            from trackers import ByteTrackTracker  # imported on first use: it pulls in supervision

            self._trackers[label] = ByteTrackTracker(
                lost_track_buffer=self.lost_frames, frame_rate=self.fps, track_activation_threshold=0.5,
                minimum_consecutive_frames=1, minimum_iou_threshold=0.1, high_conf_det_threshold=0.5)
        return self._trackers[label]

    def _add_label(self, label: str, frame: int, regions: Regions, selected: np.ndarray) -> None:
        import supervision as sv

        tracker = self._tracker(label)
        detections = sv.Detections(xyxy=regions.boxes.astype(np.float32).reshape(-1, 4),
                                   confidence=np.where(selected, 1.0, 0.6).astype(np.float32),
                                   data={"index": np.arange(len(regions))})
        result = tracker.update(detections, timestamp=frame / self.fps)
        by_id = {t.tracker_id: t for t in tracker.tracks if t.tracker_id != -1}
        loose = []
        for index, tracker_id in zip(result.data.get("index", []), result.tracker_id, strict=True):
            i = int(index)
            detection = _Pending(frame, regions.boxes[i].astype(np.float64), float(regions.scores[i]),
                                 bool(selected[i]), str(regions.detectors[i]))
            if tracker_id == -1:
                loose.append(detection)
                continue
            key = (label, int(tracker_id))
            if key not in self._detections:  # a new id: its tracklet's first detection was pending
                pending = self._pending.pop(id(by_id.get(int(tracker_id))), None)
                self._detections[key] = [pending[2]] if pending else []
            self._detections[key].append(detection)
        # A detection that spawned a tracklet waits for the tracklet's id; the others are one-frame tracks.
        spawned = [t for t in tracker.tracks if t.tracker_id == -1 and id(t) not in self._pending]
        for detection in loose:
            owner = next((t for t in spawned if np.allclose(t.get_state_bbox(), detection.box, atol=1e-3)), None)
            if owner is None:
                self._singles.append((label, detection))
            else:
                spawned.remove(owner)
                self._pending[id(owner)] = (owner, label, detection)
        alive = {id(t) for t in tracker.tracks}
        for key in [k for k, (_, lb, _) in self._pending.items() if lb == label and k not in alive]:
            self._singles.append((label, self._pending.pop(key)[2]))

    def tracks(self, frame_count: int, fill: FillSettings = FillSettings()) -> list[Track]:
        """All tracks, numbered per label in order of first appearance, covering their filled spans."""
        groups = [(label, dets) for (label, _), dets in self._detections.items()]
        groups += [(label, [d]) for label, d in self._singles]
        groups += [(label, [d]) for _, label, d in self._pending.values()]
        return numbered(groups, frame_count, fill)


def numbered(groups: list[tuple[str, list[_Pending]]], frame_count: int, fill: FillSettings) -> list[Track]:
    groups = sorted(groups, key=lambda g: (g[1][0].frame, g[0], g[1][0].box[0], g[1][0].box[1]))
    counts: dict[str, int] = {}
    out = []
    for label, dets in groups:
        counts[label] = counts.get(label, 0) + 1
        selected = any(d.selected for d in dets) or len(dets) >= PERSISTENT_FRAMES
        track = Track(f"{label}-{counts[label]}", label, dets[0].detector, np.array([d.frame for d in dets]),
                      np.array([d.box for d in dets]), np.array([d.score for d in dets]), selected)
        track.cover(fill, frame_count)
        out.append(track)
    return out


def untracked(detections: Iterable[tuple[int, Regions, np.ndarray]], frame_count: int) -> list[Track]:
    """Without tracking (`--no-track`): each detection is a track of its own frame, nothing is filled."""
    groups = [(str(regions.labels[i]), [_Pending(frame, regions.boxes[i].astype(np.float64),
                                                 float(regions.scores[i]), bool(selected[i]),
                                                 str(regions.detectors[i]))])
              for frame, regions, selected in detections for i in range(len(regions))]
    return numbered(groups, frame_count, FillSettings(extend=0))
