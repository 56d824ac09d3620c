"""Several images with the same settings into one zip: each anonymised file, its JSON report (privacy check
included), and summary.json listing every input with its outcome or the reason it was skipped.

With `recheck`, what the privacy check finds still recognisable in an output is covered and the image rendered
once more (about one more detection pass per photo): nobody reviews a batch, so nothing found is left showing."""
from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anonymiser.images import ImageError
from anonymiser.privacy_check import anonymise_checked
from anonymiser.settings import Settings
from detectors.registry import Registry


@dataclass
class BatchItem:
    source: str
    output: str  # name inside the zip, "" when the input failed
    anonymised: int
    still_found: int  # privacy-check findings left in the output
    added: int = 0  # regions added (or turned on) because the privacy check found them
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "output": self.output, "anonymised": self.anonymised, "added": self.added,
                "still_found": self.still_found, "error": self.error}


def output_name(source_name: str, extension: str, taken: set[str] | None = None) -> str:
    """`photo.jpg` -> `photo-anonymised.jpg`; a name already in `taken` gets `-2`, `-3`, ..."""
    stem = Path(source_name).stem or "image"
    name, n = f"{stem}-anonymised.{extension}", 1
    while taken is not None and name in taken:
        n += 1
        name = f"{stem}-anonymised-{n}.{extension}"
    return name


def anonymise_to_zip(paths: Sequence[Path], zip_path: Path, settings: Settings, registry: Registry,
                     progress: Callable[[int, int, str], None] | None = None,
                     recheck: bool = False) -> list[BatchItem]:
    """Anonymise `paths` one after another into `zip_path`; `progress(done, total, name)` after each."""
    items: list[BatchItem] = []
    taken: set[str] = set()
    with zipfile.ZipFile(zip_path, "w") as archive:
        for done, path in enumerate(map(Path, paths), start=1):
            try:
                outcome, check = anonymise_checked(Path(path).read_bytes(), settings, registry, source=path.name,
                                                   recheck=recheck)
            except (ImageError, OSError, ValueError) as exc:
                items.append(BatchItem(path.name, "", 0, 0, error=str(exc)))
            else:
                name = output_name(path.name, outcome.extension, taken)
                taken.add(name)
                archive.writestr(name, outcome.data, compress_type=zipfile.ZIP_STORED)  # already compressed
                archive.writestr(Path(name).with_suffix(".json").name, json.dumps(outcome.report, indent=1),
                                 compress_type=zipfile.ZIP_DEFLATED)
                anonymised = sum(row["selected"] for row in outcome.report["regions"])
                added = len(outcome.report.get("added_by_privacy_check", []))
                items.append(BatchItem(path.name, name, anonymised, len(check.findings) - added, added))
            if progress:
                progress(done, len(paths), path.name)
        archive.writestr("summary.json", json.dumps([item.to_json() for item in items], indent=1),
                         compress_type=zipfile.ZIP_DEFLATED)
    return items
