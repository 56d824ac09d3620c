"""The video benchmark's leak count: score.py's measure per frame, on clips whose truth is exact."""
from __future__ import annotations

import numpy as np

from benchmarks.clips import pasted_frames, sprite, write_clip
from benchmarks.evalset import load_scorer
from benchmarks.video import decoded, leaked_frames


def test_untouched_frames_leak_and_filled_truth_boxes_do_not(tmp_path, annotations, eval_image, eval_dir):
    name = "mpl_grace_hopper.jpg"
    still = eval_image(name)
    face = next(o["box"] for o in annotations[name]["objects"] if o["label"] == "face")
    moving = sprite(still, "face", face, (-40, 20), (260, 40), scale=0.5)
    clip = write_clip(tmp_path / "c.mov", pasted_frames(still, [moving], (320, 180), 8), (320, 180), audio=False)
    source = decoded(clip.path)
    filled = [frame.copy() for frame in source]
    for frame, truth in zip(filled, clip.truth, strict=True):
        for _, (x0, y0, x1, y1) in truth:
            frame[int(y0):int(np.ceil(y1)), int(x0):int(np.ceil(x1))] = 0
    scorer = load_scorer(eval_dir)
    with_face = sum(bool(truth) for truth in clip.truth)
    assert with_face >= 6
    assert leaked_frames(scorer, clip, source, source, {"face"}) == with_face
    assert leaked_frames(scorer, clip, source, filled, {"face"}) == 0
    assert leaked_frames(scorer, clip, source, source, {"plate"}) == 0
