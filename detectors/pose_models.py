"""MediaPipe's BlazePose models, read from the `mediapipe==0.10.14` wheel and run on LiteRT (`ai-edge-litert`).

The wheel is installed --no-deps as a weight package and never imported (its wrappers pull protobuf, matplotlib
and a bundled graph runtime); only its `.tflite` files are read. Two models are used:

- `pose_landmark_full.tflite`: input a 256x256 RGB crop in [0, 1]; output `Identity_2` (1x256x256x1) is the
  logit of a mask of the person centred in the crop (a second person in the crop is left out), `Identity_1` the
  probability that a person is there at all.
- `pose_detection.tflite`: BlazePose's person detector, input 224x224 RGB in [-1, 1], 2254 SSD anchors; each
  row gives a face box and four keypoints, of which the hip centre (0) and a point on the circle around the
  whole body (1) give where the body is. It finds people large in the frame, including ones cut by its edge.
"""
from __future__ import annotations

import threading

import cv2
import numpy as np

from detectors.packaged import package_file
from detectors.registry import DetectorUnavailable

PACKAGE = "mediapipe"
PIP_NAME = "mediapipe==0.10.14"
RUNTIME = "ai-edge-litert==2.3.0"
LANDMARK_MODEL = "modules/pose_landmark/pose_landmark_full.tflite"
DETECTION_MODEL = "modules/pose_detection/pose_detection.tflite"
MASK_SIDE = 256
DETECTION_SIDE = 224


class TfliteModel:
    """One .tflite file of the weight package on a LiteRT interpreter, its batch size following the input."""

    def __init__(self, relative: str, threads: int = 2, package: str = PACKAGE, pip_name: str = PIP_NAME) -> None:
        path = package_file(package, relative, pip_name)
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise DetectorUnavailable(f"the runtime {RUNTIME} is not installed (pip install {RUNTIME}).") from exc
        self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.outputs = {d["name"]: d["index"] for d in self.interpreter.get_output_details()}
        self._batch = 1
        self._lock = threading.Lock()  # an interpreter holds its tensors: one call at a time

    def run(self, batch: np.ndarray, *names: str) -> list[np.ndarray]:
        """The named outputs for a float32 (N, H, W, 3) batch."""
        with self._lock:
            if len(batch) != self._batch:
                self.interpreter.resize_tensor_input(self.input, list(batch.shape))
                self.interpreter.allocate_tensors()
                self._batch = len(batch)
            self.interpreter.set_tensor(self.input, np.ascontiguousarray(batch, dtype=np.float32))
            self.interpreter.invoke()
            return [self.interpreter.get_tensor(self.outputs[name]).copy() for name in names]


def square_crop(image: np.ndarray, box: np.ndarray, scale: float, side: int) -> tuple[np.ndarray, np.ndarray]:
    """The square of `scale` x the box's longer side around its centre, resized to side x side.

    Parts outside the image are black (people cut by the image's edge stay centred). Returns the crop and the
    square (x0, y0, x1, y1) in image pixels.
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    half = max(x1 - x0, y1 - y0) * scale / 2
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    square = np.float32([cx - half, cy - half, cx + half, cy + half])
    k = side / (2 * half)
    warp = np.float32([[k, 0, -square[0] * k], [0, k, -square[1] * k]])
    crop = cv2.warpAffine(image, warp, (side, side), flags=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return crop, square


class PoseSegmenter:
    """Person masks from BlazePose's segmentation output, one square crop per person, batched."""

    def __init__(self, threads: int = 2, package: str = PACKAGE, pip_name: str = PIP_NAME) -> None:
        self.model = TfliteModel(LANDMARK_MODEL, threads, package, pip_name)

    def logits(self, image: np.ndarray, boxes: np.ndarray, scale: float,
               batch: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mask logits (N, 256, 256), presence logits (N,) and the squares (N, 4) the crops were cut from."""
        crops, squares = zip(*(square_crop(image, b, scale, MASK_SIDE) for b in boxes), strict=True)
        inputs = np.stack(crops).astype(np.float32) / 255.0
        masks, presence = [], []
        for start in range(0, len(inputs), batch):
            mask, flag = self.model.run(inputs[start:start + batch], "Identity_2", "Identity_1")
            masks.append(mask[..., 0])
            presence.append(flag[:, 0])
        return np.concatenate(masks), np.concatenate(presence), np.stack(squares)


def pasted(logits: np.ndarray, square: np.ndarray, shape: tuple[int, int], smooth: float) -> np.ndarray:
    """A bool mask of the image's size: the crop's logits resized onto its square, smoothed, above 0."""
    h, w = shape
    x0, y0, x1, y1 = square
    k = (x1 - x0) / MASK_SIDE
    bx0, by0 = max(int(np.floor(x0)), 0), max(int(np.floor(y0)), 0)
    bx1, by1 = min(int(np.ceil(x1)), w), min(int(np.ceil(y1)), h)
    out = np.zeros((h, w), dtype=bool)
    if bx1 <= bx0 or by1 <= by0:
        return out
    if smooth > 0:
        logits = cv2.GaussianBlur(logits, (0, 0), sigmaX=smooth)
    # Map image pixels of the square's visible part back into the 256x256 logits.
    warp = np.float32([[1 / k, 0, (bx0 - x0) / k], [0, 1 / k, (by0 - y0) / k]])
    part = cv2.warpAffine(logits, warp, (bx1 - bx0, by1 - by0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=-10.0)
    out[by0:by1, bx0:bx1] = part > 0
    return out


def blazepose_anchors() -> np.ndarray:
    """(2254, 2) anchor centres in [0, 1]: 28x28 and 14x14 grids with 2 anchors a cell, 7x7 with 6."""
    out = []
    for grid, per_cell in ((28, 2), (14, 2), (7, 6)):
        ys, xs = np.mgrid[0:grid, 0:grid]
        cells = np.stack([(xs.ravel() + 0.5) / grid, (ys.ravel() + 0.5) / grid], 1)
        out.append(np.repeat(cells, per_cell, axis=0))
    return np.concatenate(out).astype(np.float32)


class PoseDetector:
    """Whole bodies from BlazePose's detector: a square around each body (hip centre, 1.25 x the body's circle)."""

    def __init__(self, threads: int = 2, package: str = PACKAGE, pip_name: str = PIP_NAME) -> None:
        self.model = TfliteModel(DETECTION_MODEL, threads, package, pip_name)
        self.anchors = blazepose_anchors()

    def bodies(self, image: np.ndarray, threshold: float, scale: float = 1.25) -> tuple[np.ndarray, np.ndarray]:
        """Squares (N, 4) in image pixels around the bodies scoring at least `threshold`, and their scores."""
        h, w = image.shape[:2]
        side = max(h, w)  # letterboxed: the image sits in the top-left of a black square
        square = np.zeros((side, side, 3), np.uint8)
        square[:h, :w] = image[..., :3]
        small = cv2.resize(square, (DETECTION_SIDE, DETECTION_SIDE), interpolation=cv2.INTER_AREA)
        raw, logits = self.model.run(small[None].astype(np.float32) / 127.5 - 1.0, "Identity", "Identity_1")
        scores = 1 / (1 + np.exp(-logits[0, :, 0].astype(np.float64)))
        keep = np.flatnonzero(scores >= threshold)
        rows, anchors = raw[0, keep] / DETECTION_SIDE, self.anchors[keep]
        hips = (rows[:, 4:6] + anchors) * side  # keypoint 0: the hip centre; keypoint 1: on the body's circle
        radius = np.linalg.norm((rows[:, 6:8] + anchors) * side - hips, axis=1) * scale
        squares = np.concatenate([hips - radius[:, None], hips + radius[:, None]], 1)
        return squares.astype(np.float32), scores[keep].astype(np.float32)
