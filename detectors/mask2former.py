"""People and other COCO objects by silhouette, with Mask2Former (transformers, Swin backbone, Hub weights).

Each region has a bool mask of the image's size and the box around it, so people can be anonymised by
their outline rather than a rectangle. Scores follow Mask2Former's instance inference (as in transformers'
`post_process_instance_segmentation`): class probability times the mean mask probability inside the mask,
each query free to give several classes. The post-processing is done here because transformers' version
upsamples every query's mask to the target size (100 full-size float masks for a photo) and binarises them
at 384 x 384 first, which gives staircase outlines; here only the kept masks are upsampled, from logits.
The image processor resizes one image (never pads it) to multiples of 32, so the mask logits cover the
whole image and scale straight back to it. The COCO checkpoints' processors squash every photo to 384 x 384;
config `size` (e.g. shortest_edge 800, as Mask2Former was evaluated) keeps small people and finer outlines.
"""
from __future__ import annotations

import numpy as np

from detectors.hub import HubModel
from detectors.regions import Regions
from detectors.registry import register_detector


def mask_box(mask: np.ndarray) -> list[float]:
    """x0, y0, x1, y1 around the True pixels (x1, y1 exclusive, in pixels)."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return [float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)]


@register_detector("mask2former")
class Mask2Former(HubModel):
    name = "mask2former"
    packages = ("torch", "transformers", "scipy")  # transformers builds Mask2Former's training loss with SciPy

    def __init__(self, model: str, threshold: float, suggest: float, revision: str | None = None,
                 size: dict[str, int] | None = None) -> None:
        folder = self.locate(model, revision)
        from transformers import AutoImageProcessor, Mask2FormerForUniversalSegmentation

        self.load_pretrained(folder, model, "Mask2Former", AutoImageProcessor, Mask2FormerForUniversalSegmentation,
                             suggest)
        id2label = self.model.config.id2label
        self.class_names = [str(id2label[i]).lower() for i in range(len(id2label))]
        self.labels = tuple(self.class_names)
        self.size = size  # input size for the image processor; None keeps the checkpoint's (384 x 384 for COCO)

    def versions(self) -> dict[str, str]:
        return {"segmentation model": f"Mask2Former {self.model_id} ({self.revision})"}

    def detect(self, image: np.ndarray, threshold: float) -> Regions:
        import torch
        from torch.nn.functional import interpolate

        h, w = image.shape[:2]
        inputs = self.processor(images=image, return_tensors="pt", **({"size": self.size} if self.size else {}))
        with torch.inference_mode():
            outputs = self.model(pixel_values=inputs["pixel_values"])
            logits = outputs.masks_queries_logits[0]  # (queries, H/4, W/4)
            classes = outputs.class_queries_logits[0].softmax(-1)[:, :-1]  # the last class is "no object"
            inside = (logits > 0).float()
            mask_score = (logits.sigmoid() * inside).flatten(1).sum(1) / (inside.flatten(1).sum(1) + 1e-6)
            scores = (classes * mask_score[:, None]).flatten()
            best = scores.topk(min(len(logits), len(scores)))  # at most one region per query on average
            keep = best.values >= self.floor(threshold)
            boxes, kept_scores, labels, masks = [], [], [], []
            for score, index in zip(best.values[keep].tolist(), best.indices[keep].tolist(), strict=True):
                query, label = divmod(index, classes.shape[1])
                full = interpolate(logits[query][None, None], size=(h, w), mode="bilinear", align_corners=False)
                mask = (full[0, 0] > 0).numpy()
                if mask.any():
                    boxes.append(mask_box(mask))
                    kept_scores.append(score)
                    labels.append(self.class_names[label])
                    masks.append(mask)
        return Regions.create(boxes, kept_scores, labels, self.name, masks=masks)
