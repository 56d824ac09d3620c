"""Figures on top of score.py's table: leak rows in report order, detector recall/precision, re-identification.

Leaks and over-anonymisation themselves always come from score.py; what is computed here is either read off
its table (the rows) or is about boxes, not pixels (detector matching, the re-identification proxy).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from benchmarks.detector_recall import matched_iou
from benchmarks.evalset import gt_boxes

LABELS = ("face", "plate", "text", "person")
FACE_BUCKETS = ("<16px", "16-24px", "24-64px", ">=64px")  # score.py's SIZE_BUCKETS names
MATCH_IOU = 0.5


@dataclass
class Count:
    n: int = 0
    hits: int = 0

    def add(self, n: int, hits: int) -> None:
        self.n += n
        self.hits += hits

    def to_json(self) -> dict:
        return {"n": self.n, "hits": self.hits}


def leak_rows(table: dict[str, dict[str, int]], labels: Iterable[str] = LABELS) -> list[dict]:
    """score.py's groups in report order, plus `<label> not hard` (all minus hard, as the targets are stated).

    Each row: {"group", "n", "leaked"}; faces not hard are split by width exactly as score.py buckets them.
    """
    rows = []
    for label in labels:
        if label not in table:
            continue
        total, hard = table[label], table.get(f"{label} hard", {"n": 0, "leaked": 0})
        rows.append({"group": label, **total})
        rows.append({"group": f"{label} not hard", "n": total["n"] - hard["n"],
                     "leaked": total["leaked"] - hard["leaked"]})
        if label == "face":
            rows += [{"group": f"face {b}", **table[f"face {b}"]} for b in FACE_BUCKETS if f"face {b}" in table]
        rows.append({"group": f"{label} hard", **hard})
    return rows


def row(rows: list[dict], group: str) -> dict:
    return next((r for r in rows if r["group"] == group), {"group": group, "n": 0, "leaked": 0})


def detector_scores(found: dict[str, np.ndarray], records: Iterable[dict], label: str) -> dict:
    """Recall and precision at IoU 0.5 of selected boxes (`found`: file -> (N,4)) against one label.

    Greedy one-to-one matching against every ground-truth box of the label; hard objects do not count as
    misses and detections matched to them count neither way (the dev set's README convention).
    """
    recall, recall_hard = Count(), Count()
    true_pos = false_pos = 0
    for rec in records:
        gt, hard = gt_boxes(rec, label)
        boxes = found.get(rec["file"], np.zeros((0, 4), np.float32))
        hit = matched_iou(gt, boxes, MATCH_IOU)
        recall.add(int((~hard).sum()), int((hit & ~hard).sum()))
        recall_hard.add(int(hard.sum()), int((hit & hard).sum()))
        true_pos += int((hit & ~hard).sum())
        false_pos += len(boxes) - int(hit.sum())
    precision = true_pos / (true_pos + false_pos) if true_pos + false_pos else None
    return {"recall": recall.to_json(), "recall_hard": recall_hard.to_json(), "false_positives": false_pos,
            "precision": precision}


def face_group(obj: dict, bucket) -> str:
    return "face hard" if obj.get("hard") else f"face {bucket(obj['box'][2] - obj['box'][0])}"


def redetected(found: dict[str, np.ndarray], records: Iterable[dict], bucket) -> dict[str, dict]:
    """Per face group: ground-truth faces an independent detector still finds (IoU >= 0.5) in an image set.

    `bucket` is score.py's width bucketing, so the groups are the leak table's groups.
    """
    groups: dict[str, Count] = {f"face {b}": Count() for b in FACE_BUCKETS} | {"face hard": Count()}
    for rec in records:
        faces = [o for o in rec["objects"] if o["label"] == "face"]
        gt = np.asarray([o["box"] for o in faces], np.float32).reshape(-1, 4)
        hit = matched_iou(gt, found.get(rec["file"], np.zeros((0, 4), np.float32)), MATCH_IOU)
        for obj, h in zip(faces, hit, strict=True):
            groups[face_group(obj, bucket)].add(1, int(h))
    return {k: v.to_json() for k, v in groups.items()}
