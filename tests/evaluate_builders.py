"""Builders for the evaluation tests: records by hand, random cases, and pycocotools run directly."""

from __future__ import annotations

import contextlib
import hashlib
import io

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from fracdet_core.records import ImageDetections, ImageTruth


def truth(
    boxes: list, classes: list, size: tuple[int, int] = (100, 100), source_id: str = "image", sha256: str | None = None
) -> ImageTruth:
    """An image's truth: `boxes` yxyx normalised, `size` (width, height); `sha256` None: that of `source_id`."""
    digest = sha256 if sha256 is not None else hashlib.sha256(source_id.encode()).hexdigest()
    return ImageTruth(source_id, size[0], size[1], np.asarray(boxes, np.float32).reshape(-1, 4),
                      np.asarray(classes, np.int32), digest)


def found(boxes: list, scores: list, classes: list) -> ImageDetections:
    return ImageDetections(
        np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(scores, np.float32), np.asarray(classes, np.int32)
    )


def random_case(
    seed: int, num_images: int = 12, max_boxes: int = 4, extra_detections: int = 6, tied_scores: bool = False
) -> tuple[list[ImageTruth], list[ImageDetections]]:
    """Random truths and detections with the awkward parts a detector produces.

    Image sizes vary; some images have no boxes; detections jitter the truth boxes (some
    dropped, some duplicated, some with the wrong class) and add random false positives.
    `tied_scores` rounds scores to one decimal so that ties across and within images occur.
    """
    rng = np.random.default_rng(seed)
    truths, detections = [], []
    for index in range(num_images):
        count = int(rng.integers(0, max_boxes + 1))
        boxes = _random_boxes(rng, count)
        classes = rng.integers(0, 10, count)
        truths.append(truth(boxes, classes, (int(rng.integers(64, 2000)), int(rng.integers(64, 2000))), f"image-{index}"))
        kept = rng.random(count) < 0.7  # missing detections
        duplicated = rng.random(count) < 0.3
        wrong_class = np.where(rng.random(count) < 0.15, rng.integers(0, 10, count), classes)
        extra = int(rng.integers(0, extra_detections + 1))
        found_boxes = np.concatenate([_jitter(rng, boxes[kept]), _jitter(rng, boxes[duplicated]), _random_boxes(rng, extra)])
        found_classes = np.concatenate([wrong_class[kept], classes[duplicated], rng.integers(0, 10, extra)])
        scores = rng.random(len(found_classes))
        if tied_scores:
            scores = np.round(scores, 1)
        detections.append(found(found_boxes, scores, found_classes))
    return truths, detections


def _jitter(rng: np.random.Generator, boxes: np.ndarray) -> np.ndarray:
    """Boxes moved by a few percent, corners kept in order and inside the image."""
    moved = np.clip(boxes + rng.normal(0, 0.03, boxes.shape), 0, 1)
    return np.concatenate([np.minimum(moved[:, :2], moved[:, 2:]), np.maximum(moved[:, :2], moved[:, 2:])], axis=1)


def _random_boxes(rng: np.random.Generator, count: int) -> np.ndarray:
    corner = rng.uniform(0, 0.75, (count, 2))
    extent = rng.uniform(0.02, 0.25, (count, 2))
    return np.concatenate([corner, corner + extent], axis=1)


def reference_cocoeval(truths: list[ImageTruth], detections: list[ImageDetections]) -> COCOeval:
    """pycocotools on COCO dicts built here, independently of `fracdet_core.evaluate.coco`."""
    images, annotations, results = [], [], []
    for image_id, (image, found_here) in enumerate(zip(truths, detections, strict=True), start=1):
        width, height = image.width, image.height
        images.append({"id": image_id, "width": width, "height": height})
        for (ymin, xmin, ymax, xmax), class_id in zip(image.boxes.astype(float), image.classes, strict=True):
            w, h = (xmax - xmin) * width, (ymax - ymin) * height
            annotations.append(
                {"id": len(annotations) + 1, "image_id": image_id, "category_id": int(class_id) + 1,
                 "bbox": [xmin * width, ymin * height, w, h], "area": w * h, "iscrowd": 0}
            )
        found_boxes = found_here.boxes.astype(float)
        for (ymin, xmin, ymax, xmax), score, class_id in zip(found_boxes, found_here.scores, found_here.classes, strict=True):
            results.append(
                {"image_id": image_id, "category_id": int(class_id) + 1, "score": float(score),
                 "bbox": [xmin * width, ymin * height, (xmax - xmin) * width, (ymax - ymin) * height]}
            )
    with contextlib.redirect_stdout(io.StringIO()):
        ground_truth = COCO()
        categories = [{"id": i + 1, "name": str(i)} for i in range(10)]
        ground_truth.dataset = {"images": images, "annotations": annotations, "categories": categories}
        ground_truth.createIndex()
        evaluator = COCOeval(ground_truth, ground_truth.loadRes(results), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator


def reference_class_ap50(evaluator: COCOeval) -> np.ndarray:
    """(10,) AP@0.5 per class, area all, 100 detections; NaN where pycocotools gives -1."""
    precision = evaluator.eval["precision"][0, :, :, 0, 2]  # (R, K)
    return np.where(precision[0] > -1, precision.mean(axis=0), np.nan)
