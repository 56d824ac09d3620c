"""One place for onnxruntime sessions: the CPU provider, threads matched to the cores, full graph optimisation,
and one session per model per process (sessions are cached by model and thread count).

onnxruntime 1.32 lists `AzureExecutionProvider` first, so the CPU provider is named. Its worker threads spin
while waiting for work by default, which steals the cores from the other processes of a `--jobs` run or a
shared machine; spinning is turned off (`ANONYMISER_ONNX_SPIN=1` turns it back on, for a dedicated machine).

All sessions draw on one process-wide memory arena that grows by what is asked, not in powers of two: each
session's own arena kept the peak of its largest image for the life of the process (three 12 MP /anonymise
calls in a fresh process peaked at 1330 MiB that way, 1007 MiB with the shared arena, at 0.98x the time).
"""
from __future__ import annotations

import os
from functools import cache

import numpy as np

THREADS_ENV = "ANONYMISER_ONNX_THREADS"
SPIN_ENV = "ANONYMISER_ONNX_SPIN"


def cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers and `taskset` narrow)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_threads() -> int:
    """Intra-op threads: `ANONYMISER_ONNX_THREADS` when set (e.g. cores / workers for parallel jobs), else the cores."""
    value = os.environ.get(THREADS_ENV, "")
    return max(1, int(value)) if value.strip() else cores()


def onnx_session(model: bytes | str, threads: int | None = None):
    """The process's CPU session for `model` (ONNX bytes or a path), created on first use."""
    return _session(model, threads or default_threads(), os.environ.get(SPIN_ENV, "") == "1")


@cache
def _shared_arena() -> None:
    """Register the process's CPU arena (once: onnxruntime refuses a second one)."""
    import onnxruntime as ort

    memory = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
    ort.create_and_register_allocator(memory, ort.OrtArenaCfg({"arena_extend_strategy": 1}))  # kSameAsRequested


@cache
def _session(model: bytes | str, threads: int, spin: bool):
    import onnxruntime as ort

    _shared_arena()
    options = ort.SessionOptions()
    options.add_session_config_entry("session.use_env_allocators", "1")
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    options.log_severity_level = 3
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


def planar(image: np.ndarray, channels: tuple[int, ...] = (0, 1, 2),
           mean: tuple[float, ...] = (0.0, 0.0, 0.0)) -> np.ndarray:
    """A (1, C, H, W) float32 input from an (H, W, C) uint8 image, channels picked in `channels` order, minus `mean`.

    One pass per channel straight into the output: the chain astype -> subtract -> transpose -> contiguous made
    four full-size float copies (measured 4-5x slower on a 2400x1350 input).
    """
    out = np.empty((1, len(channels), *image.shape[:2]), np.float32)
    for i, (channel, m) in enumerate(zip(channels, mean, strict=True)):
        np.subtract(image[..., channel], m, out=out[0, i], dtype=np.float32)
    return out
