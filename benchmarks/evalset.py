"""The evaluation set (format: ../shared/eval/README.md) and its own scorer, `score.py`, loaded from its folder.

Every leak and over-anonymisation figure of the benchmarks comes from that `score.py`, so they agree with
it by construction; this module only finds it and the images.
"""
from __future__ import annotations

import importlib.util
import itertools
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_EVAL = ROOT.parent / "shared" / "eval"
_module_ids = itertools.count()


@dataclass(frozen=True)
class EvalSet:
    root: Path
    annotations: Path  # the set's annotations.json, or a copy holding the subset in `records`
    records: tuple[dict, ...]

    @property
    def images(self) -> Path:
        return self.root / "images"

    def path(self, record: dict) -> Path:
        return self.images / record["file"]

    def linked(self, folder: Path) -> Path:
        """A fresh folder of links to this set's images: what a CLI is pointed at (tools may write beside them)."""
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for rec in self.records:
            (folder / rec["file"]).symlink_to(self.path(rec).resolve())
        return folder

    def subset(self, limit: int | None, work: Path) -> EvalSet:
        """At most `limit` images spread evenly over the set (quick runs), with their own annotations file."""
        if not limit or limit >= len(self.records):
            return self
        step = len(self.records) / limit
        return self.restricted([self.records[int(i * step)] for i in range(limit)], work)

    def restricted(self, records: list[dict], work: Path) -> EvalSet:
        """These records only, with their own annotations file in `work` (score.py then scores just them)."""
        work.mkdir(parents=True, exist_ok=True)
        path = work / "annotations.json"
        path.write_text(json.dumps({"version": 1, "images": list(records)}))
        return EvalSet(self.root, path, tuple(records))


def load_eval(root: Path) -> EvalSet:
    path = Path(root) / "annotations.json"
    if not path.is_file():
        raise SystemExit(f"no evaluation set at {root}: expected {path} (see ../shared/eval/README.md)")
    return EvalSet(Path(root), path, tuple(json.loads(path.read_text())["images"]))


def load_scorer(root: Path) -> ModuleType:
    """A fresh module instance of the set's `score.py` (fresh, so one caller's I/O hooks never reach another)."""
    path = Path(root) / "score.py"
    spec = importlib.util.spec_from_file_location(f"eval_score_{next(_module_ids)}", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise SystemExit(f"no scorer at {path}: the evaluation folder must hold score.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def gt_boxes(record: dict, label: str) -> tuple[np.ndarray, np.ndarray]:
    """Ground-truth boxes of one label and which of them are flagged hard."""
    objects = [o for o in record["objects"] if o["label"] == label]
    boxes = np.asarray([o["box"] for o in objects], dtype=np.float32).reshape(-1, 4)
    return boxes, np.asarray([bool(o.get("hard")) for o in objects], dtype=bool)
