"""What the user asked for, parsed once: kinds, thresholds, prompt, style and output format.

The CLI, the app, the API and the batch all build their `Settings` with `Settings.parse`, so a threshold
written `faces=0.4`, `{"faces": 0.4}` or given as a slider value means the same everywhere, and an unknown
kind or a threshold out of range fails with one sentence before any file is touched.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from anonymiser.style import Style, parse_colour
from detectors.engine import DEFAULT_KINDS, PROMPT_KIND, parse_kinds, resolve
from detectors.registry import Registry, default_registry

OBJECTS = "objects"  # one threshold key for every COCO class picked as "other objects"


@dataclass(frozen=True)
class Settings:
    kinds: tuple[str, ...] = DEFAULT_KINDS
    thresholds: dict[str, float] = field(default_factory=dict)
    style: Style = Style()
    format: str = "same"
    prompt: str | None = None

    @classmethod
    def parse(cls, kinds: str | Iterable[str] | None = None, thresholds: Any = None, *,
              objects: Sequence[str] = (), prompt: str | None = None, method: str | None = None,
              strength: str | None = None, colour: str | Sequence[int] | None = None, shape: str | None = None,
              padding: float | None = None, style: Style | None = None, format: str | None = None,
              registry: Registry | None = None) -> Settings:
        """Settings from user values; `None` (or empty) means the default.

        `thresholds`: a mapping, `KIND=VALUE` strings (one, comma-separated, or a list of them) or JSON.
        `objects`: COCO classes added to the kinds, all taking the threshold under the key "objects".
        """
        registry = registry or default_registry()
        chosen = [*parse_kinds(kinds), *(o for o in objects if o not in parse_kinds(kinds))]
        for kind in chosen:
            resolve(kind, registry)  # unknown kinds fail here, with the list of known ones
        limits = parse_thresholds(thresholds)
        if objects and OBJECTS in limits:
            limits |= {o: limits[OBJECTS] for o in objects}
        limits = {k: v for k, v in limits.items() if k in chosen or (k == PROMPT_KIND and prompt)}
        if style is None:
            defaults = Style()
            style = Style(method or defaults.method, strength or defaults.strength,
                          defaults.colour if colour in (None, "") else
                          parse_colour(colour) if isinstance(colour, str) else tuple(colour),
                          shape or defaults.shape, defaults.padding if padding is None else float(padding))
        return cls(tuple(chosen), limits, style, format or "same", (prompt or "").strip() or None)

    def to_json(self) -> dict[str, Any]:
        return {"kinds": list(self.kinds), "thresholds": self.thresholds, "prompt": self.prompt,
                "style": self.style.to_json(), "format": self.format}


def parse_thresholds(value: Any) -> dict[str, float]:
    """`{"faces": 0.4}`, `'{"faces": 0.4}'`, `"faces=0.4,plates=0.5"` or `["faces=0.4", "plates=0.5"]`."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"thresholds are not valid JSON ({exc.msg})") from None
        else:
            value = [item for item in text.split(",") if item.strip()]
    if not isinstance(value, Mapping):
        pairs = [str(item).partition("=") for item in value]
        if any(not sep for _, sep, _ in pairs):
            raise ValueError(f"thresholds take KIND=VALUE, got {', '.join(map(str, value))!r}")
        value = {k: v for k, _, v in pairs}
    limits = {}
    for kind, raw in value.items():
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"threshold for {str(kind).strip()} must be a number, got {raw!r}") from None
        if not 0 <= number <= 1:
            raise ValueError(f"threshold for {str(kind).strip()} must be between 0 and 1, got {number}")
        limits[str(kind).strip().lower()] = number
    return limits
