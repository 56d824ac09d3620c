"""What the app says to the user about a photo: its regions, its metadata and the privacy check."""
from __future__ import annotations

from typing import Any

from anonymiser.privacy_check import CHECK_DETECTOR
from webapp.review import MANUAL, Review
from webapp.session import Upload

KIND_NAMES = {"faces": "Faces", "plates": "Licence plates", "people": "People", "vehicles": "Vehicles",
              "text": "Text", "qr": "QR codes and barcodes", "silhouettes": "People, as silhouettes"}
METADATA_NAMES = {"camera_make": "camera make", "camera_model": "camera model", "date_time": "date and time",
                  "software": "software", "artist": "artist", "copyright": "copyright", "exif_tags": "EXIF tags",
                  "exif_orientation": "EXIF orientation", "thumbnail": "embedded thumbnail", "xmp": "XMP",
                  "iptc": "IPTC", "comment": "comment", "text_chunks": "PNG text", "icc_profile": "ICC colour profile"}
METADATA_VALUES = ("camera_make", "camera_model", "date_time", "software", "artist", "copyright")  # shown inline


ORIGINS = {MANUAL: "drawn by you", CHECK_DETECTOR: "added by the privacy check"}


def region_choices(review: Review, suggestions: bool = False) -> list[tuple[str, str]]:
    """The list's entries (number, label, score or origin) of the regions shown (`Review.visible`)."""
    out = []
    shown = review.visible(suggestions)
    for i, row in enumerate(review.regions):
        if not shown[i]:
            continue
        score = ORIGINS.get(row["detector"], f"{row['score']:.2f}")
        hint = ", suggestion" if review.suggested[i] else ""
        out.append((f"{i + 1}. {row['label']} ({score}{hint})", row["id"]))
    return out


def suggestions_label(review: Review) -> str:
    hidden = int((review.suggested & ~review.selected).sum())
    return f"Show the {hidden} suggestion{'' if hidden == 1 else 's'} below the threshold (amber, off)"


def status_text(review: Review, seconds: float | None = None, lost: int = 0) -> str:
    counts: dict[str, int] = {}
    for label in review.regions.labels.astype(str)[review.selected]:
        counts[label] = counts.get(label, 0) + 1
    kinds = ", ".join(f"{n} {label}" for label, n in counts.items())
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    hidden = int((review.suggested & ~review.selected).sum())
    lines = [f"**{int(review.selected.sum())} regions on**{took}" + (f" ({kinds})" if kinds else "") +
             (f", {hidden} suggestions below the threshold off" if hidden else "") +
             ". Click a region in the picture, or tick it in the list, to turn it on or off."]
    if lost:
        lines.append(f"- {lost} of your on/off choices could not be kept: "
                     f"{'that region was' if lost == 1 else 'those regions were'} not found again.")
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
        return "✅ **Privacy check:** no recognisable face or licence plate in the result."
    numbers = {str(rid): i + 1 for i, rid in enumerate(review.regions.ids)}
    lines = [f"⚠️ **Privacy check:** {check_json['summary']}."]
    for f in findings:
        x0, y0, x1, y1 = (round(v) for v in f["box"])
        where = f"#{numbers[f['region_id']]} " if f["region_id"] in numbers else ""
        lines.append(f"- {f['label']} {where}at ({x0}, {y0}) to ({x1}, {y1}), score {f['score']:.2f}, "
                     f"{f['detail']:.0%} of its detail visible: {f['reason']}")
    return "\n".join(lines)
