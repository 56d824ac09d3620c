"""The app's two documented endpoints, also MCP tools: /detect and /anonymise. Their docstrings are the API
documentation Gradio shows and the tool descriptions MCP clients read."""
from __future__ import annotations

from pathlib import Path

from anonymiser.batch import output_name
from anonymiser.images import ImageError, load_image
from anonymiser.privacy_check import anonymise_checked
from anonymiser.report import region_rows
from anonymiser.settings import Settings
from detectors.engine import DEFAULT_KINDS
from webapp.context import detections, registry
from webapp.handlers import user_error
from webapp.session import new_workdir, read_upload


def detect(image: str, kinds: str = ",".join(DEFAULT_KINDS), thresholds: str = "") -> dict:
    """Find the regions of a photo that identify people: faces and licence plates unless told otherwise.

    Args:
        image: the photo (JPEG, PNG, WebP, TIFF, BMP or GIF); its EXIF orientation is applied first.
        kinds: comma-separated: faces, plates, people, vehicles, text, qr or a COCO class; empty = faces,plates.
        thresholds: optional thresholds per kind, as JSON {"faces": 0.4} or as faces=0.4,plates=0.5.

    Returns:
        JSON: size, regions (id, label, score, box [x0, y0, x1, y1] in pixels, selected: false for suggestions)
        and the kinds whose detector could not run, with the reason.
    """
    try:
        settings = Settings.parse(kinds or None, thresholds, registry=registry)
        data = read_upload(image)
        loaded = load_image(data)
        result = detections.detector(settings, registry)(data, loaded)
    except (ImageError, ValueError) as exc:
        raise user_error(exc) from None
    height, width = loaded.pixels.shape[:2]
    return {"size": [width, height], "kinds": list(settings.kinds), "regions": region_rows(result.regions,
            result.selected), "unavailable": result.unavailable, "models": result.models,
            "metadata_found": loaded.metadata_found, "timings_ms": result.timings_ms}


def anonymise(image: str, kinds: str = ",".join(DEFAULT_KINDS), method: str = "auto",
              strength: str = "strong") -> tuple[str, dict]:
    """Anonymise a photo: detect, cover every region found, remove all metadata, check the result again.

    Args:
        image: the photo (JPEG, PNG, WebP, TIFF, BMP or GIF).
        kinds: comma-separated: faces, plates, people, vehicles, text, qr or a COCO class; empty = faces,plates.
        method: auto (noisy mosaic for faces, fill for text and plates), mosaic, pixelate, blur or fill.
        strength: light, medium or strong.

    Returns:
        The anonymised image: full size, in the photo's format (PNG for formats that cannot be written), no metadata.
        The JSON report: regions, methods, metadata removed and the privacy check of the result.
    """
    try:
        settings = Settings.parse(kinds or None, method=method, strength=strength, registry=registry)
        name = Path(image).name
        outcome, _ = anonymise_checked(read_upload(image), settings, registry, source=name,
                                       detect_with=detections.detector(settings, registry))
    except (ImageError, ValueError) as exc:
        raise user_error(exc) from None
    path = new_workdir() / output_name(name, outcome.extension)
    path.write_bytes(outcome.data)
    return str(path), outcome.report
