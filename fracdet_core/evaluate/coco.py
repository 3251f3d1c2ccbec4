"""COCO box metrics (mAP@0.5, mAP@[.5:.95], AR@100, per-class AP and PR curves) by pycocotools.

pycocotools is the reference implementation the numbers are comparable with, so it computes
them; this module only converts the records to COCO dicts, runs `COCOeval` quietly, and keeps
what the report, the bootstrap and the blessing need, including the per-image matches at
IoU 0.5 from which `matches.ap50_from_matches` recomputes mAP@0.5 for resampled image sets.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
from collections.abc import Sequence

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from fracdet_core.boxes import yxyx_to_xywh
from fracdet_core.classes import CLASS_NAMES
from fracdet_core.evaluate.inputs import check_records
from fracdet_core.evaluate.matches import RECALL_GRID, ClassMatches, MatchResults
from fracdet_core.records import ImageDetections, ImageTruth

_MAX_DETECTIONS = 100


@dataclasses.dataclass(frozen=True)
class PrecisionRecallCurve:
    """pycocotools' interpolated precision at IoU 0.5, area "all", 100 detections per image.

    Attributes:
        recall: float64 (101,) the recall grid 0, 0.01, ..., 1.
        precision: float64 (101,) interpolated precision at each recall; 0 beyond the
            highest recall reached.
    """

    recall: np.ndarray
    precision: np.ndarray


@dataclasses.dataclass(frozen=True)
class CocoMetrics:
    """Attributes:
        map50: mean AP at IoU 0.5 over classes with truth boxes (COCO `stats[1]`).
        map50_95: mean AP over IoU 0.5:0.95 (`stats[0]`).
        ar100: mean recall with 100 detections per image (`stats[8]`).
        per_class_ap50: class name -> AP@0.5, for all ten classes.
        pr_curves: class name -> the class's precision-recall curve at IoU 0.5.
        matches: per-image matches at IoU 0.5, for `ap50_from_matches` and the bootstrap.

    Every value is None where COCO leaves it undefined (-1): for a class, when it has no truth
    box; for the means, when no class has one.
    """

    map50: float | None
    map50_95: float | None
    ar100: float | None
    per_class_ap50: dict[str, float | None]
    pr_curves: dict[str, PrecisionRecallCurve | None]
    matches: MatchResults


def coco_metrics(truths: Sequence[ImageTruth], detections: Sequence[ImageDetections]) -> CocoMetrics:
    """COCO bbox metrics of `detections` against `truths`, aligned by image.

    Category ids are class id + 1 (COCO reserves 0) and all ten categories are declared, so
    a class the model never predicts still counts in the mean with AP 0 if it has truth.
    No detections at all is a normal case: every class with truth gets AP 0.

    Raises:
        FracdetError: `truths` is empty.
        ValueError: the records are malformed (see `inputs.check_records`).
    """
    check_records(truths, detections)
    evaluator = _run_cocoeval(truths, detections)
    params = evaluator.params
    iou50 = int(np.flatnonzero(np.isclose(params.iouThrs, 0.5))[0])
    area_all = params.areaRngLbl.index("all")
    per_class_ap50, pr_curves = _per_class_ap50(evaluator, iou50, area_all)
    return CocoMetrics(
        map50=_defined(evaluator.stats[1]),
        map50_95=_defined(evaluator.stats[0]),
        ar100=_defined(evaluator.stats[8]),
        per_class_ap50=per_class_ap50,
        pr_curves=pr_curves,
        matches=_matches(evaluator, iou50, area_all),
    )


def _run_cocoeval(truths: Sequence[ImageTruth], detections: Sequence[ImageDetections]) -> COCOeval:
    """`COCOeval` evaluated, accumulated and summarised, without the progress pycocotools prints."""
    ground_truth = _ground_truth(truths)
    results = _results(truths, detections)
    with contextlib.redirect_stdout(io.StringIO()):
        truth_api = COCO()
        truth_api.dataset = ground_truth
        truth_api.createIndex()
        # loadRes fails on an empty list; an empty result set is what it would have built.
        result_api = truth_api.loadRes(results) if results else _empty_results(ground_truth)
        evaluator = COCOeval(truth_api, result_api, iouType="bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return evaluator


def _per_class_ap50(
    evaluator: COCOeval, iou50: int, area_all: int
) -> tuple[dict[str, float | None], dict[str, PrecisionRecallCurve | None]]:
    """Per class name, AP@0.5 and the precision-recall curve it averages; None for a class without truth."""
    max100 = evaluator.params.maxDets.index(_MAX_DETECTIONS)
    precision = evaluator.eval["precision"][iou50, :, :, area_all, max100]  # (R, K), -1 without truth
    per_class_ap50: dict[str, float | None] = {}
    pr_curves: dict[str, PrecisionRecallCurve | None] = {}
    for class_id, name in enumerate(CLASS_NAMES):
        class_precision = precision[:, class_id]
        defined = bool(np.all(class_precision > -1))
        per_class_ap50[name] = float(class_precision.mean()) if defined else None
        pr_curves[name] = PrecisionRecallCurve(RECALL_GRID.copy(), class_precision.copy()) if defined else None
    return per_class_ap50, pr_curves


def _ground_truth(truths: Sequence[ImageTruth]) -> dict:
    """COCO ground-truth dict: image id = list position + 1, annotation ids from 1.

    Annotation ids must not be 0: COCOeval records a match as the truth id, and 0 reads as
    "unmatched".
    """
    images, annotations = [], []
    for image_id, truth in enumerate(truths, start=1):
        images.append({"id": image_id, "width": int(truth.width), "height": int(truth.height), "file_name": truth.source_id})
        for box, class_id in zip(yxyx_to_xywh(truth.boxes, truth.width, truth.height), truth.classes, strict=True):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": int(class_id) + 1,
                    "bbox": [float(value) for value in box],
                    "area": float(box[2] * box[3]),
                    "iscrowd": 0,
                }
            )
    categories = [{"id": class_id + 1, "name": name} for class_id, name in enumerate(CLASS_NAMES)]
    return {"images": images, "annotations": annotations, "categories": categories}


def _results(truths: Sequence[ImageTruth], detections: Sequence[ImageDetections]) -> list[dict]:
    """COCO result list, boxes scaled by each image's true size like its truth."""
    results = []
    for image_id, (truth, found) in enumerate(zip(truths, detections, strict=True), start=1):
        boxes = yxyx_to_xywh(found.boxes, truth.width, truth.height)
        for box, score, class_id in zip(boxes, found.scores, found.classes, strict=True):
            results.append({
                "image_id": image_id,
                "category_id": int(class_id) + 1,
                "bbox": [float(value) for value in box],
                "score": float(score),
            })
    return results


def _empty_results(ground_truth: dict) -> COCO:
    results = COCO()
    results.dataset = {"images": list(ground_truth["images"]), "categories": list(ground_truth["categories"]), "annotations": []}
    results.createIndex()
    return results


def _matches(evaluator: COCOeval, iou50: int, area_all: int) -> MatchResults:
    """Per-image matches at IoU 0.5, area "all", from `evalImgs`.

    `evalImgs` is laid out category-major, then area range, then image (in `params.imgIds`
    order, which is list order here); each entry already holds at most 100 detections, best
    first, and is None when the image has neither truth nor detections of the category.
    """
    params = evaluator.params
    num_images, num_areas = len(params.imgIds), len(params.areaRng)
    assert params.maxDets[-1] == _MAX_DETECTIONS, "evalImgs must be computed with 100 detections per image"
    per_class = []
    for class_position in range(len(params.catIds)):
        start = (class_position * num_areas + area_all) * num_images
        image_index, scores, matched, ignored = [], [], [], []
        truth_per_image = np.zeros(num_images, np.int64)
        for image_position, entry in enumerate(evaluator.evalImgs[start : start + num_images]):
            if entry is None:
                continue
            truth_per_image[image_position] = np.count_nonzero(np.asarray(entry["gtIgnore"]) == 0)
            image_index.append(np.full(len(entry["dtScores"]), image_position))
            scores.append(np.asarray(entry["dtScores"], np.float64))
            matched.append(entry["dtMatches"][iou50] > 0)
            ignored.append(entry["dtIgnore"][iou50].astype(bool))
        per_class.append(
            ClassMatches.ranked(
                image_index=np.concatenate(image_index) if image_index else np.zeros(0, np.int64),
                scores=np.concatenate(scores) if scores else np.zeros(0),
                matched=np.concatenate(matched) if matched else np.zeros(0, bool),
                ignored=np.concatenate(ignored) if ignored else np.zeros(0, bool),
                truth_per_image=truth_per_image,
            )
        )
    return MatchResults(num_images=num_images, per_class=tuple(per_class))


def _defined(value: float) -> float | None:
    return None if value == -1 else float(value)
