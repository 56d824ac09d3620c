"""`--seed N`: reproducible mosaics. The default mosaic draws fresh noise each run (deliberately unpredictable);
with a seed, an image's output depends only on the photo, the settings and N, so reruns, resumed runs and the
local and Ray engines agree byte for byte."""
from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath


def image_seed(seed: int | None, relative: str | PurePosixPath | Path) -> int | None:
    """The render seed of one image: from the run's seed and the image's output path under --out (without its
    suffix) only, never from the order or the worker that processed it. None (fresh noise) without a seed."""
    if seed is None:
        return None
    digest = hashlib.sha256(f"{seed}\0{PurePosixPath(relative).as_posix()}".encode()).digest()
    return int.from_bytes(digest[:8], "little")
