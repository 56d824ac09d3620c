"""Anything named by text, with OWLv2 (open-vocabulary detection, transformers, weights from the Hub).

The user types "tattoo, logo, computer screen, ID card, name badge": each phrase is one text query and the
label of the regions it finds. The model sees the image padded at the bottom and right to a square and resized
to its input side (960 for OWLv2 base, 768 for OWL-ViT), so its boxes are fractions of the square's side: they
are scaled by `max(height, width)` (the square as `target_sizes`) and the padding's cells are clipped away.

The square is made here with OpenCV (area resampling), not by the image processor: without torchvision
transformers falls back to a SciPy resize that is slow, and the result must not depend on which is installed.
"""
from __future__ import annotations

import cv2
import numpy as np

from detectors.engine import prompt_phrases
from detectors.geometry import nms
from detectors.hub import HubModel
from detectors.regions import Regions
from detectors.registry import register_detector


def padded_square(image: np.ndarray, side: int) -> np.ndarray:
    """The image scaled so its long side is `side`, padded with black at the bottom and right to side x side."""
    h, w = image.shape[:2]
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    square = np.zeros((side, side, 3), np.uint8)
    square[:size[1], :size[0]] = cv2.resize(image, size, interpolation=interpolation)
    return square


@register_detector("owlv2")
class Owlv2(HubModel):
    name = "owlv2"
    title = "OWLv2"
    labels: tuple[str, ...] = ()  # open vocabulary: the labels are the prompt's phrases
    keep_square = {"do_resize": False, "do_pad": False}  # the processor takes the square made here as it is

    def __init__(self, model: str, threshold: float, suggest: float, revision: str | None = None,
                 nms_iou: float = 0.5) -> None:
        folder = self.locate(model, revision)
        self.load_pretrained(folder, model, self.title, *self.classes(), suggest)
        self.side = int(self.processor.image_processor.size["height"])
        self.max_tokens = int(self.model.config.text_config.max_position_embeddings)  # 16: longer phrases are cut
        self.nms_iou = nms_iou

    @staticmethod
    def classes() -> tuple[type, type]:
        """(processor, model) classes, imported when a model loads: transformers is an optional extra."""
        from transformers import Owlv2ForObjectDetection, Owlv2Processor

        return Owlv2Processor, Owlv2ForObjectDetection

    def versions(self) -> dict[str, str]:
        return {"prompt model": f"{self.title} {self.model_id} ({self.revision})"}

    def detect(self, image: np.ndarray, threshold: float, prompt: str | None = None) -> Regions:
        """Regions for each phrase of `prompt`; no prompt, no regions."""
        import torch

        phrases = prompt_phrases(prompt)
        if not phrases:
            return Regions.empty()
        h, w = image.shape[:2]
        inputs = self.processor(text=phrases, images=padded_square(image, self.side), **self.keep_square,
                                truncation=True, max_length=self.max_tokens, return_tensors="pt")
        with torch.inference_mode():
            outputs = self.model(**inputs)
        found = self.processor.post_process_grounded_object_detection(
            outputs, threshold=self.floor(threshold), target_sizes=[(max(h, w),) * 2], text_labels=[phrases])[0]
        regions = Regions.create(found["boxes"].numpy(), found["scores"].numpy(), found["text_labels"], self.name)
        return nms(regions, self.nms_iou).clipped(w, h)
