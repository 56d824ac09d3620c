"""Models from the Hugging Face Hub, found lazily: a local folder, the local cache, or a download.

Nothing here runs at import time and nothing heavy is imported at module level: a detector calls
`model_folder` from its constructor. Every way of not getting a model (no network, HF_HUB_OFFLINE, a gated or
unknown id, a missing package) becomes `DetectorUnavailable` with one sentence, so the embedded detectors keep
working whatever happens here. Network checks fail fast (`NETWORK_TIMEOUT`) instead of hanging the app.

While a model downloads, `download_progress(detector)` reports the bytes already on disk; the registry's
`status()` shows it through the `HubModel` hooks.
"""
from __future__ import annotations

import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detectors.base import BaseDetector
from detectors.registry import DetectorUnavailable

NETWORK_TIMEOUT = 5.0  # seconds; a Hub that does not answer by then counts as no network
TORCH_THREADS = 2
WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
_TRUE = {"1", "ON", "YES", "TRUE"}


@dataclass
class Download:
    """Bytes of one model download, counted on disk (works whatever progress bars huggingface_hub uses)."""

    model: str
    total: int
    blobs: Path
    already: int  # complete blobs present before this download started

    def done(self) -> int:
        on_disk = sum(written(f) for f in self.blobs.glob("*") if f.is_file()) if self.blobs.is_dir() else 0
        return max(0, min(self.total, on_disk - self.already))

    def fraction(self) -> float | None:
        return self.done() / self.total if self.total else None

    def describe(self) -> str:
        return f"{megabytes(self.done())} of {megabytes(self.total)} ({self.model})"


def written(path: Path) -> int:
    """Bytes actually on disk: a file preallocated to its full size (sparse) counts only what was written."""
    stat = path.stat()
    blocks = getattr(stat, "st_blocks", None)
    return stat.st_size if blocks is None else min(stat.st_size, blocks * 512)


_DOWNLOADS: dict[str, Download] = {}  # by detector name, while its files are being fetched
_DOWNLOADS_LOCK = threading.Lock()


def megabytes(size: int) -> str:
    return f"{size / 1e6:.0f} MB"


def offline() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) as set now; huggingface_hub itself reads it once at import."""
    from huggingface_hub import constants

    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().upper() in _TRUE or constants.HF_HUB_OFFLINE


def require(*packages: str) -> None:
    """Raise DetectorUnavailable naming the first of `packages` (import names) that is not installed."""
    for package in packages:
        if importlib.util.find_spec(package) is None:
            raise DetectorUnavailable(f"{package} is not installed (pip install {package}).")


def local_folder(model: str, revision: str | None = None) -> Path | None:
    """The folder holding `model` without any network: `model` itself if it is a folder, else its cached snapshot."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path if has_weights(path) else None
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError

    try:
        config = try_to_load_from_cache(model, "config.json", revision=revision)
    except HFValidationError:  # not a Hub id: `cannot_download` says so
        return None
    if not isinstance(config, str):
        return None
    folder = Path(config).parent
    return folder if has_weights(folder) else None


def has_weights(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any((folder / name).is_file() for name in WEIGHTS)


def cannot_download(model: str) -> DetectorUnavailable | None:
    """Why `model`, not found locally, cannot be fetched, when that is known without asking the network."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    if Path(model).expanduser().is_dir():
        return DetectorUnavailable(f"the model folder {model} has no config.json with weights beside it.")
    if model.startswith(("/", ".", "~")):
        return DetectorUnavailable(f"the model folder {model} does not exist.")
    try:
        validate_repo_id(model)
    except HFValidationError:
        return DetectorUnavailable(f"{model!r} is neither a model folder nor a Hugging Face Hub id.")
    if offline():
        return DetectorUnavailable(f"{model} is not in the local cache and HF_HUB_OFFLINE forbids downloading it.")
    return None


def model_folder(detector: str, model: str, revision: str | None = None) -> Path:
    """A local folder with `model`'s files: the folder named, the local cache, or a download made now."""
    found = local_folder(model, revision)
    if found is not None:
        return found
    reason = cannot_download(model)
    if reason is not None:
        raise reason
    return download(detector, model, revision)


def remote_files(model: str, revision: str | None) -> dict[str, int]:
    """The files to fetch (configs, tokenizer, one weights format) with their sizes; raises DetectorUnavailable."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        HTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        info = HfApi().model_info(model, revision=revision, files_metadata=True, timeout=NETWORK_TIMEOUT)
    except GatedRepoError as exc:
        raise DetectorUnavailable(f"{model} is gated on the Hub: accept its terms and log in (hf auth login).") from exc
    except RepositoryNotFoundError as exc:
        raise DetectorUnavailable(f"{model} is not a public model on the Hugging Face Hub.") from exc
    except RevisionNotFoundError as exc:
        raise DetectorUnavailable(f"{model} has no revision {revision!r} on the Hub.") from exc
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "an error"
        raise DetectorUnavailable(f"the Hub answered {status} for {model} and it is not in the local cache.") from exc
    except (HTTPError, OSError) as exc:  # connection refused, DNS, timeout, HF_HUB_OFFLINE set at import
        raise DetectorUnavailable(f"no network and not in the local cache ({model}).") from exc
    sizes = {s.rfilename: s.size or 0 for s in info.siblings or [] if "/" not in s.rfilename}
    weights = [n for n in sizes if n.endswith(".safetensors")] or [n for n in sizes if n.endswith(".bin")]
    if not weights:
        raise DetectorUnavailable(f"{model} on the Hub has no PyTorch weights (model.safetensors or .bin).")
    wanted = [n for n in sizes if n.endswith((".json", ".txt"))] + weights
    return {name: sizes[name] for name in wanted}


def download(detector: str, model: str, revision: str | None = None) -> Path:
    """Fetch `model` into the Hub cache, recording progress under `detector` for `status()`."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import HTTPError
    from huggingface_hub.file_download import repo_folder_name

    files = remote_files(model, revision)
    blobs = Path(constants.HF_HUB_CACHE) / repo_folder_name(repo_id=model, repo_type="model") / "blobs"
    already = sum(written(f) for f in blobs.glob("*") if f.is_file() and f.suffix != ".incomplete") \
        if blobs.is_dir() else 0
    with _DOWNLOADS_LOCK:
        _DOWNLOADS[detector] = Download(model, sum(files.values()), blobs, already)
    try:
        folder = snapshot_download(model, revision=revision, allow_patterns=list(files))
    except (HTTPError, OSError) as exc:
        raise DetectorUnavailable(f"downloading {model} failed ({type(exc).__name__}); it is not in the local cache.") \
            from exc
    finally:
        with _DOWNLOADS_LOCK:
            _DOWNLOADS.pop(detector, None)
    return Path(folder)


def download_progress(detector: str) -> tuple[float | None, str] | None:
    """(fraction done or None, "312 MB of 620 MB (id)") while `detector` downloads, else None."""
    with _DOWNLOADS_LOCK:
        current = _DOWNLOADS.get(detector)
    return None if current is None else (current.fraction(), current.describe())


def availability(model: str, revision: str | None = None, packages: tuple[str, ...] = ()) -> tuple[str, str]:
    """What loading would take, without loading: ("local", ""), ("download", "620 MB ...") or ("unavailable", why)."""
    try:
        require("huggingface_hub", *packages)
        if local_folder(model, revision) is not None:
            return "local", ""
        reason = cannot_download(model)
        if reason is not None:
            raise reason
        size = sum(remote_files(model, revision).values())
    except DetectorUnavailable as exc:
        return "unavailable", str(exc)
    return "download", f"downloads {megabytes(size)} from the Hugging Face Hub on first use"


def load_error(model: str, architecture: str, exc: Exception) -> DetectorUnavailable:
    """One sentence for a folder that transformers cannot load (wrong architecture, corrupt files, ...)."""
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DetectorUnavailable(f"{model} could not be loaded as {architecture} ({first_line.rstrip('.')}).")


def revision_of(folder: Path) -> str:
    """The commit of a cached snapshot (its folder name), or "local folder"."""
    return folder.name[:10] if folder.parent.name == "snapshots" else "local folder"


def use_torch_threads() -> None:
    import torch

    torch.set_num_threads(TORCH_THREADS)


class HubModel(BaseDetector):
    """Base of the detectors whose weights come from the Hub: registry hooks and the default selection.

    `availability` lets the registry list the detector without loading or downloading it; `download_progress`
    lets it show a download under way. Subclasses set `name` (their registry name) and `packages`.
    """

    name: str = ""
    packages: tuple[str, ...] = ("torch", "transformers")

    @classmethod
    def availability(cls, model: str, revision: str | None = None, **_: Any) -> tuple[str, str]:
        return availability(model, revision, cls.packages)

    @classmethod
    def download_progress(cls) -> tuple[float | None, str] | None:
        return download_progress(cls.name)

    def locate(self, model: str, revision: str | None) -> Path:
        """Check the packages, find or fetch the model, and set torch's threads: the shared start of loading."""
        require("huggingface_hub", *self.packages)
        folder = model_folder(self.name, model, revision)
        use_torch_threads()
        return folder

    def load_pretrained(self, folder: Path, model: str, what: str, processor_class: Any, model_class: Any,
                        suggest: float) -> None:
        """The processor and the model from `folder`, in evaluation mode; a broken download is one sentence."""
        try:
            self.processor = processor_class.from_pretrained(folder)
            self.model = model_class.from_pretrained(folder).eval()
        except (OSError, ValueError, KeyError) as exc:
            raise load_error(model, what, exc) from exc
        self.model_id, self.revision, self.suggest = model, revision_of(folder), suggest

