"""What the app says to the user about a photo: its regions, its metadata and the privacy check."""
from __future__ import annotations

from typing import Any

from webapp.review import MANUAL, Review
from webapp.session import Upload

KIND_NAMES = {"faces": "Faces", "plates": "Licence plates", "people": "People", "vehicles": "Vehicles",
              "text": "Text", "qr": "QR codes and barcodes", "silhouettes": "People, as silhouettes (Hub model)"}
METADATA_NAMES = {"camera_make": "camera make", "camera_model": "camera model", "date_time": "date and time",
                  "software": "software", "artist": "artist", "copyright": "copyright", "exif_tags": "EXIF tags",
                  "exif_orientation": "EXIF orientation", "thumbnail": "embedded thumbnail", "xmp": "XMP",
                  "iptc": "IPTC", "comment": "comment", "text_chunks": "PNG text", "icc_profile": "ICC colour profile"}
METADATA_VALUES = ("camera_make", "camera_model", "date_time", "software", "artist", "copyright")  # shown inline


def region_choices(review: Review) -> list[tuple[str, str]]:
    out = []
    for i, row in enumerate(review.regions):
        score = "drawn by you" if row["detector"] == MANUAL else f"{row['score']:.2f}"
        hint = ", suggestion" if review.suggested[i] else ""
        out.append((f"{i + 1}. {row['label']} ({score}{hint})", row["id"]))
    return out


def status_text(review: Review, seconds: float | None = None) -> str:
    counts: dict[str, int] = {}
    for label in review.regions.labels.astype(str):
        counts[label] = counts.get(label, 0) + 1
    kinds = ", ".join(f"{n} {label}" for label, n in counts.items())
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    lines = [f"**{len(review)} regions**{took}" + (f" ({kinds})" if kinds else "") +
             f": {int(review.selected.sum())} on, {int(review.suggested.sum())} amber suggestions just below the "
             "threshold. Click a region in the picture, or tick it in the list, to turn it on or off."]
    lines += [f"- {KIND_NAMES.get(kind, kind)} not searched: {reason}" for kind, reason in review.unavailable.items()]
    return "\n".join(lines)


def metadata_text(upload: Upload) -> str:
    found = dict(upload.metadata)
    if not found:
        text = "**Metadata:** none found in this file; the download carries none either."
    else:
        parts = []
        if "gps" in found:
            parts.append(f"**GPS position {found.pop('gps')}**")
        parts += [f"{METADATA_NAMES[k]} {found.pop(k)}" for k in list(found) if k in METADATA_VALUES]
        parts += [METADATA_NAMES.get(k, k) + ("" if v is True else f" ({v})") for k, v in found.items()]
        text = "**Metadata found, removed from the download:** " + "; ".join(parts) + "."
    notes = "".join(f"\n\n{note[0].upper()}{note[1:]}." for note in upload.notes)
    return text + notes


def privacy_text(check_json: dict[str, Any], review: Review) -> str:
    findings = check_json["findings"]
    if not findings and not check_json["unavailable"]:
        return "✅ **Privacy check:** no face or licence plate found in the result."
    numbers = {str(rid): i + 1 for i, rid in enumerate(review.regions.ids)}
    lines = [f"⚠️ **Privacy check:** {check_json['summary']}."]
    for f in findings:
        x0, y0, x1, y1 = (round(v) for v in f["box"])
        where = f"#{numbers[f['region_id']]} " if f["region_id"] in numbers else ""
        lines.append(f"- {f['label']} {where}at ({x0}, {y0})-({x1}, {y1}), score {f['score']:.2f}: {f['reason']}")
    return "\n".join(lines)
