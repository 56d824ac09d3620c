"""CPU time per image of the Hub models' real architectures, without their weights.

The weights cannot be downloaded here, but CPU time does not depend on weight values: this builds OWLv2
base/16 (960 x 960 input) and Mask2Former Swin-T COCO instance with random weights at the real sizes, saves
them with their processors, loads them through the project's detectors and times `detect` (2 torch threads,
as in the app). The detections themselves are meaningless. Usage:

    .venv/bin/python -m benchmarks.hub_models_cpu [--runs 1] [--image ultra_zidane.jpg]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

EVAL_IMAGES = Path(__file__).resolve().parents[2] / "shared" / "eval" / "images"
PROMPT = "tattoo, logo, computer screen, ID card, name badge"


def owlv2_folder(root: Path) -> Path:
    """OWLv2 base/16 (google/owlv2-base-patch16-ensemble's config) with a byte-level stand-in tokenizer."""
    import string

    from transformers import CLIPTokenizer, Owlv2Config, Owlv2ForObjectDetection, Owlv2ImageProcessorPil, Owlv2Processor

    vocab = {c: i for i, c in enumerate(string.ascii_lowercase + string.ascii_uppercase)}
    vocab.update({c + "</w>": len(vocab) + i for i, c in enumerate(string.ascii_letters)})
    vocab.update({"<|startoftext|>": 49406, "<|endoftext|>": 49407})
    config = Owlv2Config(text_config={"max_position_embeddings": 16}, vision_config={"image_size": 960,
                                                                                     "patch_size": 16})
    folder = root / "owlv2"
    Owlv2ForObjectDetection(config).save_pretrained(folder)
    Owlv2Processor(Owlv2ImageProcessorPil(size={"height": 960, "width": 960}),
                   CLIPTokenizer(vocab=vocab, merges=[])).save_pretrained(folder)
    return folder


def mask2former_folder(root: Path) -> Path:
    """Mask2Former with facebook/mask2former-swin-tiny-coco-instance's sizes (Swin-T, 100 queries, 80 classes)."""
    from transformers import (
        Mask2FormerConfig,
        Mask2FormerForUniversalSegmentation,
        Mask2FormerImageProcessorPil,
        SwinConfig,
    )

    swin = SwinConfig(image_size=224, embed_dim=96, depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24], window_size=7,
                      out_features=["stage1", "stage2", "stage3", "stage4"])
    labels = {i: f"class{i}" for i in range(80)}
    labels[0] = "person"
    config = Mask2FormerConfig(backbone_config=swin, id2label=labels, label2id={v: k for k, v in labels.items()})
    folder = root / "mask2former"
    Mask2FormerForUniversalSegmentation(config).save_pretrained(folder)
    Mask2FormerImageProcessorPil(size={"height": 384, "width": 384}, size_divisor=32).save_pretrained(folder)
    return folder


def timed(detect, runs: int) -> str:
    """CPU seconds (all threads; what a free machine needs) and wall seconds (inflated on a shared machine)."""
    times = []
    for _ in range(runs):
        cpu, wall = time.process_time(), time.perf_counter()
        detect()
        times.append(f"{time.process_time() - cpu:.1f} s CPU / {time.perf_counter() - wall:.1f} s wall")
    return "; ".join(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run hub-cpu", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--image", default="ultra_zidane.jpg")
    args = parser.parse_args(argv)
    from detectors.mask2former import Mask2Former
    from detectors.owlv2 import Owlv2

    with Image.open(EVAL_IMAGES / args.image) as im:
        image = np.asarray(im.convert("RGB"))
    print(f"image {args.image} {image.shape[1]}x{image.shape[0]}, {args.runs} run(s) each, the first one included")
    with tempfile.TemporaryDirectory() as tmp:
        owl = Owlv2(str(owlv2_folder(Path(tmp))), threshold=0.2, suggest=0.5)
        print(f"owlv2 base/16 960x960, 5 phrases: {timed(lambda: owl.detect(image, 0.2, prompt=PROMPT), args.runs)}")
        folder = str(mask2former_folder(Path(tmp)))
        # threshold 0 keeps all 100 queries: an upper bound on the full-size mask upsampling
        for size, threshold in ((None, 0.5), (None, 0.0), ({"shortest_edge": 800, "longest_edge": 1333}, 0.5)):
            m2f = Mask2Former(folder, threshold=0.5, suggest=1.0, size=size)
            print(f"mask2former swin-t, input {size or '384x384'}, threshold {threshold}: "
                  f"{timed(lambda m=m2f, t=threshold: m.detect(image, t), args.runs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
