"""The quality benchmark renders the default run from the all-kinds detection: that must be what the
pipeline itself selects when asked for the default kinds only."""
from __future__ import annotations

import numpy as np

from anonymiser.pipeline import anonymise_bytes
from anonymiser.settings import Settings
from benchmarks.quality import ALL, RUNS


def selected_rows(detection, labels: list[str]) -> list[tuple]:
    regions = detection.regions
    keep = detection.selected & np.isin(regions.labels.astype(str), labels)
    return sorted((str(label), *np.round(box, 2)) for label, box in zip(regions.labels[keep], regions.boxes[keep],
                                                                        strict=True))


def test_default_kinds_select_the_same_regions_alone_and_among_all_kinds(eval_dir, registry):
    data = (eval_dir / "images" / "litealpr_wild04.png").read_bytes()  # faces, plates, text and people
    alone = anonymise_bytes(data, Settings.parse(RUNS["default"]), registry).detection
    among_all = anonymise_bytes(data, Settings.parse(RUNS[ALL]), registry).detection
    wanted = ["face", "plate"]
    assert len(selected_rows(alone, wanted)) >= 5
    assert len(among_all.regions) > len(alone.regions)  # text and people were found too
    assert selected_rows(alone, wanted) == selected_rows(among_all, wanted)
