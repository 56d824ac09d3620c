"""How selected regions are anonymised: method, strength, colour, shape, padding.

Strength is relative to the region's size, so "light" means the same on a 600-px face as on a 20-px one:
mosaic and pixelate keep a fixed number of blocks across the region, blur uses a sigma proportional to
the region's width. Even "light" keeps under the dev set's leak threshold (score.py: a 16-block mosaic
keeps 19% of a face's detail, a blur of sigma = width/50 about 30%).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

METHODS = ("auto", "mosaic", "pixelate", "blur", "fill")
STRENGTHS = ("light", "medium", "strong")
SHAPES = ("auto", "box", "ellipse", "mask")

# Blocks across the region (mosaic, pixelate), their smallest size in pixels, and blur sigma as a
# fraction of the region's size. "mosaic" is noisy block means with softened edges; "pixelate" is the
# classic hard-edged mosaic without noise (weaker: shown reversible for fine grids, McPherson et al. 2016).
BLOCKS_ACROSS = {"light": 12, "medium": 8, "strong": 5}
MIN_BLOCK = {"light": 6, "medium": 8, "strong": 10}
BLUR_SIGMA = {"light": 1 / 16, "medium": 1 / 10, "strong": 1 / 6}
# Mosaic noise (std of grey levels added per block): block means alone can be matched by brute force.
MOSAIC_NOISE = 12.0
# What "auto" means per label: text-like regions are filled (mosaics of text are reversible, Hill et al.
# 2016, Depix); faces and everything else get a coarse noisy mosaic, which keeps the picture readable.
FILLED_LABELS = frozenset({"text", "plate", "qr", "barcode"})
ELLIPSE_LABELS = frozenset({"face"})


@dataclass(frozen=True)
class Style:
    method: str = "auto"
    strength: str = "strong"
    colour: tuple[int, int, int] = (0, 0, 0)
    shape: str = "auto"
    # Fraction of the box's width/height added on each side. Dev set, default run (faces + plates), hard faces
    # leaked / over-anonymisation: 0.1 5/41, 1.8%; 0.2 3/41, 2.1%; 0.3 2/41, 2.6%. 0.2, because padding applies
    # to every kind (a person's box, a plate's fill) and the sweep renders faces only.
    padding: float = 0.2

    def __post_init__(self) -> None:
        for value, allowed, what in ((self.method, METHODS, "method"), (self.strength, STRENGTHS, "strength"),
                                     (self.shape, SHAPES, "shape")):
            if value not in allowed:
                raise ValueError(f"unknown {what} {value!r}; choose from {', '.join(allowed)}")
        if not 0 <= self.padding <= 1:
            raise ValueError(f"padding must be between 0 and 1 (a fraction of the box), got {self.padding}")
        if len(self.colour) != 3 or not all(0 <= int(c) <= 255 for c in self.colour):
            raise ValueError(f"colour must be three values 0-255, got {self.colour}")

    def method_for(self, label: str) -> str:
        if self.method != "auto":
            return self.method
        return "fill" if label in FILLED_LABELS else "mosaic"

    def shape_for(self, label: str, has_polygon: bool, has_mask: bool) -> str:
        """`auto`: the detector's mask or polygon when there is one, ellipses for faces, boxes otherwise."""
        if self.shape == "mask" or (self.shape == "auto" and (has_mask or has_polygon)):
            return "mask" if has_mask else "polygon" if has_polygon else "box"
        if self.shape == "auto":
            return "ellipse" if label in ELLIPSE_LABELS else "box"
        return self.shape

    def with_(self, **changes: Any) -> Style:
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "strength": self.strength, "colour": list(self.colour),
                "shape": self.shape, "padding": self.padding}


def parse_colour(text: str) -> tuple[int, int, int]:
    """`#rrggbb`, `r,g,b` or a few names."""
    names = {"black": (0, 0, 0), "white": (255, 255, 255), "grey": (128, 128, 128), "gray": (128, 128, 128)}
    text = text.strip().lower()
    if text in names:
        return names[text]
    if text.startswith("#") and len(text) == 7:
        return tuple(int(text[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
    parts = text.split(",")
    if len(parts) == 3:
        return tuple(int(p) for p in parts)  # type: ignore[return-value]
    raise ValueError(f"colour {text!r} is not #rrggbb, r,g,b or one of {', '.join(names)}")
