"""CPU time per image of the Hub models' real architectures, without their weights.

The weights cannot be downloaded here, but CPU time does not depend on weight values: this builds OWL-ViT
base/32 (768 x 768 input, the prompt's default), OWLv2 base/16 (960 x 960) and Mask2Former Swin-T COCO instance
with random weights at the real sizes, saves them with their processors, loads them through the project's
detectors and times `detect` (2 torch threads, as in the app): it measures speed, not accuracy (the detections
themselves are meaningless). Usage:

    .venv/bin/python -m benchmarks.run hub-cpu [--runs 1] [--image ultra_zidane.jpg]
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


def owl_folder(root: Path, version: int) -> Path:
    """OWLv2 base/16 at 960 (google/owlv2-base-patch16-ensemble's config) or OWL-ViT base/32 at 768
    (google/owlvit-base-patch32's), with a letters-only stand-in tokenizer: the text side is short either way."""
    import string

    import transformers as t

    vocab = {c: i for i, c in enumerate(string.ascii_lowercase + string.ascii_uppercase)}
    vocab.update({c + "</w>": len(vocab) + i for i, c in enumerate(string.ascii_letters)})
    vocab.update({"<|startoftext|>": 49406, "<|endoftext|>": 49407})
    side, patch = (960, 16) if version == 2 else (768, 32)
    config_class, model_class, image_processor, processor = (
        (t.Owlv2Config, t.Owlv2ForObjectDetection, t.Owlv2ImageProcessorPil, t.Owlv2Processor) if version == 2 else
        (t.OwlViTConfig, t.OwlViTForObjectDetection, t.OwlViTImageProcessorPil, t.OwlViTProcessor))
    config = config_class(text_config={"max_position_embeddings": 16},
                          vision_config={"image_size": side, "patch_size": patch})
    folder = root / f"owl{version}"
    model_class(config).save_pretrained(folder)
    size = {"height": side, "width": side}
    processor(image_processor(size=size, **({"crop_size": size} if version == 1 else {})),
              t.CLIPTokenizer(vocab=vocab, merges=[])).save_pretrained(folder)
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
    from detectors.owlvit import OwlVit

    with Image.open(EVAL_IMAGES / args.image) as im:
        image = np.asarray(im.convert("RGB"))
    print(f"image {args.image} {image.shape[1]}x{image.shape[0]}, {args.runs} run(s) each, the first one included")
    with tempfile.TemporaryDirectory() as tmp:
        for what, version, model_class in (("owl-vit base/32 768x768", 1, OwlVit), ("owlv2 base/16 960x960", 2, Owlv2)):
            owl = model_class(str(owl_folder(Path(tmp), version)), threshold=0.2, suggest=0.5)
            print(f"{what}, 5 phrases: {timed(lambda m=owl: m.detect(image, 0.2, prompt=PROMPT), args.runs)}")
        folder = str(mask2former_folder(Path(tmp)))
        # threshold 0 keeps all 100 queries: an upper bound on the full-size mask upsampling
        for size, threshold in ((None, 0.5), (None, 0.0), ({"shortest_edge": 800, "longest_edge": 1333}, 0.5)):
            m2f = Mask2Former(folder, threshold=0.5, suggest=1.0, size=size)
            print(f"mask2former swin-t, input {size or '384x384'}, threshold {threshold}: "
                  f"{timed(lambda m=m2f, t=threshold: m.detect(image, t), args.runs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
