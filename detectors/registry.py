"""One registry of detectors, driven by `detectors.toml`, in the spirit of timm's
`register_model` / `create_model` / `list_models`.

Detectors load lazily, once per process, behind a lock (the app serves several users at once). A detector
that cannot load is remembered with a one-sentence reason instead of raising at every call.
"""
from __future__ import annotations

import contextlib
import importlib
import inspect
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from detectors.base import Detector

CONFIG_PATH = Path(__file__).with_name("detectors.toml")
State = Literal["ready", "not loaded", "loading", "downloading", "unavailable"]  # what a detector is now
Availability = Literal["local", "download", "unavailable"]  # what loading it would take, known without loading


class DetectorUnavailable(RuntimeError):
    """Raised by a detector's constructor when its model cannot be had; the message is one sentence."""


_FACTORIES: dict[str, Callable[..., Detector]] = {}


def register_detector(name: str) -> Callable[[Callable[..., Detector]], Callable[..., Detector]]:
    """Class decorator: `@register_detector("retinaface")` makes the class creatable by name."""
    def wrap(factory: Callable[..., Detector]) -> Callable[..., Detector]:
        _FACTORIES[name] = factory
        return factory
    return wrap


@dataclass
class DetectorStatus:
    name: str
    state: State
    reason: str
    description: str
    detail: str = ""  # e.g. "312 MB of 620 MB" while downloading, "downloads 620 MB ... on first use" before
    progress: float | None = None  # fraction downloaded, while downloading and when known


class Registry:
    """Creates detectors from the config on first use and keeps them for the life of the process."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = config if config is not None else load_config()
        self._loaded: dict[str, Detector] = {}
        self._failed: dict[str, str] = {}
        self._loading: set[str] = set()
        self._checked: dict[str, tuple[Availability, str]] = {}
        self._locks = {name: threading.Lock() for name in self.config["detectors"]}

    def names(self) -> list[str]:
        return list(self.config["detectors"])

    def prompt_detector(self) -> str:
        """The detector that reads free-text prompts (`[prompt] detector` in the config), "" when none."""
        name = self.config.get("prompt", {}).get("detector", "")
        return name if name in self.config["detectors"] else ""

    def settings(self, name: str) -> dict[str, Any]:
        try:
            return dict(self.config["detectors"][name])
        except KeyError:
            raise KeyError(f"unknown detector {name!r}; known: {', '.join(self.names())}") from None

    def get(self, name: str) -> Detector:
        """The loaded detector, loading it now if needed; raises DetectorUnavailable with the reason."""
        if name in self._loaded:
            return self._loaded[name]
        settings = self.settings(name)
        with self._locks[name]:
            if name in self._loaded:
                return self._loaded[name]
            if name in self._failed:
                raise DetectorUnavailable(self._failed[name])
            self._loading.add(name)
            try:
                self._loaded[name] = self._create(name, settings)
            except DetectorUnavailable as exc:
                self._failed[name] = str(exc)
                raise
            finally:
                self._loading.discard(name)
        return self._loaded[name]

    def _factory(self, name: str, settings: dict[str, Any]) -> Callable[..., Detector]:
        module = settings.get("module", f"detectors.{name}")
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise DetectorUnavailable(f"its module {module} cannot be imported ({exc}).") from exc
        if name not in _FACTORIES:
            raise DetectorUnavailable(f"{module} registers no detector named {name!r}.")
        return _FACTORIES[name]

    def _create(self, name: str, settings: dict[str, Any]) -> Detector:
        """A detector built from others (plates: vehicles + text) declares `registry` and gets this one."""
        factory = self._factory(name, settings)
        wants_registry = "registry" in inspect.signature(factory).parameters
        return factory(**arguments(settings), **({"registry": self} if wants_registry else {}))

    def _availability(self, name: str, settings: dict[str, Any]) -> tuple[Availability, str]:
        """A factory's own cheap check (`availability(**settings)`, see detectors/hub.py), once per process.

        Returns ("local", ""), ("download", what it would fetch) or ("unavailable", the reason); factories
        without the hook count as local.
        """
        if name not in self._checked:
            try:
                check = getattr(self._factory(name, settings), "availability", None)
            except DetectorUnavailable as exc:
                return "unavailable", str(exc)
            self._checked[name] = check(**arguments(settings)) if check else ("local", "")
        return self._checked[name]

    def status(self, name: str, load: bool = False) -> DetectorStatus:
        """State of one detector; with `load`, tries to load it first so the answer is definite.

        Listing never starts a download: a detector that would download (see `_availability`) stays
        "not loaded", with what it would fetch in `detail`, until something asks for it with `get`.
        """
        settings = self.settings(name)
        description = settings.get("description", "")
        detail = ""
        if name not in self._loaded and name not in self._failed and name not in self._loading:
            state, detail = self._availability(name, settings)
            if state == "unavailable":
                return DetectorStatus(name, "unavailable", detail, description)
            load = load and state != "download"
        if load:
            with contextlib.suppress(DetectorUnavailable):
                self.get(name)
        if name in self._loaded:
            return DetectorStatus(name, "ready", "", description)
        if name in self._failed:
            return DetectorStatus(name, "unavailable", self._failed[name], description)
        if name in self._loading:
            hook = getattr(_FACTORIES.get(name), "download_progress", None)
            progress = hook() if hook else None
            if progress is not None:
                return DetectorStatus(name, "downloading", "", description, progress[1], progress[0])
            return DetectorStatus(name, "loading", "", description)
        return DetectorStatus(name, "not loaded", "", description, detail)

    def list_detectors(self, load: bool = False) -> list[DetectorStatus]:
        return [self.status(name, load) for name in self.names()]


def arguments(settings: dict[str, Any]) -> dict[str, Any]:
    """A detector's constructor arguments: its config table minus `module` and `description`."""
    return {k: v for k, v in settings.items() if k not in ("module", "description")}


def load_config(path: Path = CONFIG_PATH) -> dict[str, Any]:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


_DEFAULT: Registry | None = None
_DEFAULT_LOCK = threading.Lock()


def default_registry() -> Registry:
    """The process-wide registry (the app's and the CLI's singleton)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Registry()
        return _DEFAULT
