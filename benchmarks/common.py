"""What the benchmarks measure about processes: free loopback ports, resident memory (now, peak, of a
process tree, sampled over time) and wall time. One copy, used by every benchmark and the app tests."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def seconds(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    """(wall seconds, result) of one call."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def repeated_ms(call: Callable[[], Any], repeats: int) -> list[float]:
    """Wall milliseconds of `repeats` calls."""
    return [seconds(call)[0] * 1000 for _ in range(repeats)]


def peak_rss_mb(pid: int | str = "self") -> float | None:
    """The kernel's peak RSS of one process since it started (VmHWM), None once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return None
    return next((int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")), None)


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` and all its descendants, in MB (0 once it has exited)."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            for task in Path(f"/proc/{current}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total / 1024


class RssSampler(threading.Thread):
    """The peak RSS of a process tree, sampled every `every` seconds until `stopped` is set."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.peak, self.start_mb = pid, every, 0.0, rss_mb(pid)
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            self.peak = max(self.peak, rss_mb(self.pid))


def ui_inputs(url: str) -> dict[str, list]:
    """Each named event's inputs as the page starts, State inputs left out (the client fills them): the UI's
    events are undocumented, so gradio_client does not know their defaults."""
    import httpx

    config = httpx.get(f"{url}config", timeout=30).json()
    components = {c["id"]: c for c in config["components"]}
    return {dep["api_name"]: [components[i]["props"].get("value") for i in dep["inputs"]
                              if components[i]["type"] != "state"]
            for dep in config["dependencies"] if dep.get("api_name")}
