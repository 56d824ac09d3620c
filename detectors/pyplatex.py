"""Licence plates with the YOLOv8n plate model shipped in `pyplatex==0.0.5`: an opt-in extra, never a default.

Licence: the package says MIT, but the file is an ultralytics 8.0.112 training checkpoint (dated 2023-06-04,
trained from yolov8n.yaml) and ultralytics' authors hold that its AGPL-3.0 covers trained models: unclear,
so the file is installed only from requirements-plates-extra.txt and no kind uses it by default. Neither
pyplatex nor ultralytics is imported or installed: a restricted unpickler reads the checkpoint (tensors and
containers are rebuilt, every module class becomes a plain record of its attributes, nothing else is callable),
and the network is rebuilt here in torch from those records: YOLOv8's Conv (batch norm folded in), C2f,
Bottleneck, SPPF, Upsample, Concat and the Detect head's per-stride maps, which `detectors.yolo_plates` decodes.
It is exported to ONNX once per process (in memory, a few seconds) and run by onnxruntime: torch's own CPU
threads spin and crawl on a shared machine (measured 4-6 s instead of 0.25 s per pass with 2 threads under load).
"""
from __future__ import annotations

import pickle
import types
import warnings
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from detectors.registry import DetectorUnavailable, register_detector
from detectors.yolo_plates import YoloPlates

PACKAGE = "pyplatex"
PIP_NAME = "pyplatex==0.0.5"
MODEL = "models/plate-detection-models/plate_detector_model_1.pt"
LICENCE = ("the package says MIT but the weights are an ultralytics training checkpoint, whose AGPL-3.0 its "
           "authors hold to cover trained models")
REBUILT = {("collections", "OrderedDict"), ("__builtin__", "set"), ("builtins", "set"), ("torch", "Size"),
           ("torch", "device"), ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_tensor_v2")}


class Record:
    """Any pickled class other than tensors and containers: its attributes, nothing more."""

    def __init__(self, *args: Any) -> None:
        self.args = args

    def __setstate__(self, state: Any) -> None:
        self.__dict__.update(state if isinstance(state, dict) else {"state": state})

    def child(self, name: str) -> Any:
        return self.__dict__["_modules"][name]

    def children(self) -> list[Any]:
        return list(self.__dict__["_modules"].values())

    def tensor(self, name: str) -> Any:
        """A parameter or buffer, in float32."""
        found = self.__dict__["_parameters"].get(name)
        found = self.__dict__["_buffers"].get(name) if found is None else found
        return None if found is None else found.detach().float()


class RecordingUnpickler(pickle.Unpickler):
    """Rebuilds only `REBUILT` globals; every other class named in the pickle becomes a `Record` of that name."""

    records: dict[str, type] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in REBUILT:
            return super().find_class(module, name)
        return self.records.setdefault(f"{module}.{name}", type(name, (Record,), {}))


def read_checkpoint(path: Path) -> dict[str, Any]:
    import torch

    restricted = types.SimpleNamespace(Unpickler=RecordingUnpickler, load=pickle.load, __name__="restricted")
    return torch.load(path, map_location="cpu", weights_only=False, pickle_module=restricted)


def layer(record: Record) -> Callable[[Any], Any]:
    """The forward function of one YOLOv8 module record."""
    import torch
    import torch.nn.functional as F

    kind = type(record).__name__
    if kind in ("Conv", "Conv2d"):  # ultralytics Conv = Conv2d + BatchNorm2d + SiLU
        conv = record.child("conv") if kind == "Conv" else record
        weight, bias = conv.tensor("weight"), conv.tensor("bias")
        options = {k: conv.__dict__[k] for k in ("stride", "padding", "dilation", "groups")}
        if kind == "Conv2d":
            return lambda x: F.conv2d(x, weight, bias, **options)
        bn = record.child("bn")
        scale = bn.tensor("weight") / torch.sqrt(bn.tensor("running_var") + bn.eps)
        weight, bias = weight * scale[:, None, None, None], bn.tensor("bias") - bn.tensor("running_mean") * scale
        return lambda x: F.silu(F.conv2d(x, weight, bias, **options))
    if kind == "Sequential":
        steps = [layer(r) for r in record.children()]

        def sequence(x: Any) -> Any:
            for step in steps:
                x = step(x)
            return x
        return sequence
    if kind == "Bottleneck":
        cv1, cv2, add = layer(record.child("cv1")), layer(record.child("cv2")), record.add
        return lambda x: x + cv2(cv1(x)) if add else cv2(cv1(x))
    if kind == "C2f":
        cv1, cv2, blocks, c = layer(record.child("cv1")), layer(record.child("cv2")), record.child("m"), record.c
        inner = [layer(r) for r in blocks.children()]

        def c2f(x: Any) -> Any:
            parts = list(cv1(x).split((c, c), 1))
            for block in inner:
                parts.append(block(parts[-1]))
            return cv2(torch.cat(parts, 1))
        return c2f
    if kind == "SPPF":
        cv1, cv2, pool = layer(record.child("cv1")), layer(record.child("cv2")), record.child("m")
        k, pad = pool.kernel_size, pool.padding

        def sppf(x: Any) -> Any:
            parts = [cv1(x)]
            for _ in range(3):
                parts.append(F.max_pool2d(parts[-1], k, 1, pad))
            return cv2(torch.cat(parts, 1))
        return sppf
    if kind == "Upsample":
        return lambda x: F.interpolate(x, scale_factor=record.scale_factor, mode=record.mode)
    if kind == "Concat":
        return lambda xs: torch.cat(xs, record.d)
    if kind == "Detect":
        boxes = [layer(r) for r in record.child("cv2").children()]
        classes = [layer(r) for r in record.child("cv3").children()]
        return lambda xs: [torch.cat([b(x), c(x)], 1) for b, c, x in zip(boxes, classes, xs, strict=True)]
    raise DetectorUnavailable(f"the pyplatex checkpoint holds a layer this module does not know ({kind}).")


def network(model: Record) -> Callable[[Any], list[Any]]:
    """The whole model: each layer takes the previous output or, where its `f` says so, earlier layers' outputs."""
    steps = [(r.f, layer(r)) for r in model.child("model").children()]

    def forward(x: Any) -> list[Any]:
        outputs: list[Any] = []
        for source, step in steps:
            if source != -1:
                x = outputs[source] if isinstance(source, int) else [x if j == -1 else outputs[j] for j in source]
            x = step(x)
            outputs.append(x)
        return x
    return forward


@cache
def exported(path: Path) -> bytes:
    """The network rebuilt from the checkpoint, exported once per process to ONNX (input H, W symbolic)."""
    import io

    import torch

    checkpoint = read_checkpoint(path)
    forward = network(checkpoint.get("ema") or checkpoint["model"])

    class Heads(torch.nn.Module):
        def forward(self, x: Any) -> tuple[Any, ...]:
            return tuple(forward(x))

    names = [f"p{i}" for i in (3, 4, 5)]
    axes = {"images": {2: "H", 3: "W"}} | {n: {2: f"{n}h", 3: f"{n}w"} for n in names}
    out = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation notice: it needs no onnxscript
        warnings.simplefilter("ignore")
        torch.onnx.export(Heads(), (torch.zeros(1, 3, 64, 64),), out, dynamo=False, input_names=["images"],
                          output_names=names, dynamic_axes=axes, opset_version=17)
    return out.getvalue()


@register_detector("pyplatex")
class Pyplatex(YoloPlates):
    name = package = PACKAGE
    pip_name = PIP_NAME
    model_file = MODEL
    title = "YOLOv8n plates"
    licence = LICENCE
    onnx_model = staticmethod(exported)
