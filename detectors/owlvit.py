"""The free-text prompt's default model: OWL-ViT base/32, the first OWL. Its 768-px input in 32-px patches is
24 x 24 tokens, against OWLv2 base's 60 x 60: one 1920x1080 photo and five phrases take about 1 s on 2 cores
instead of about 50 s (randomly initialised models of the same architectures, `python -m benchmarks.run
hub-cpu`). OWLv2 finds more and stays a choice in detectors.toml; the geometry and the post-processing are
the same (`detectors/owlv2.py`).
"""
from __future__ import annotations

from detectors.owlv2 import Owlv2
from detectors.registry import register_detector


@register_detector("owlvit")
class OwlVit(Owlv2):
    name = "owlvit"
    title = "OWL-ViT"
    keep_square = {"do_resize": False, "do_center_crop": False}

    @staticmethod
    def classes() -> tuple[type, type]:
        from transformers import OwlViTForObjectDetection, OwlViTProcessor

        return OwlViTProcessor, OwlViTForObjectDetection
