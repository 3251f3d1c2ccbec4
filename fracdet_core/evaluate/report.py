"""The evaluation report: one self-contained HTML page a reviewer reads before trusting a model.

Order follows the questions asked of a model: is it blessed and why; how good is it as a
detector (mAP with its interval, per-class AP); as a clinical tool (per body part, FROC);
where does it go wrong (confusion, the worst misses and false alarms, with boxes drawn).
"""

from __future__ import annotations

import html

import numpy as np

from fracdet_core.annotate import FRACTURE_COLOUR, NORMAL_COLOUR, TRUTH_COLOUR, boxes_to_draw, draw_boxes
from fracdet_core.classes import CLASS_NAMES
from fracdet_core.evaluate import plots
from fracdet_core.evaluate.blessing import Blessing
from fracdet_core.evaluate.clinical import fracture_scores, fractured_images
from fracdet_core.evaluate.confusion import detection_confusion
from fracdet_core.evaluate.inference import read_split
from fracdet_core.evaluate.records import ImageDetections
from fracdet_core.evaluate.run import EvaluateOptions, Evaluation
from fracdet_core.html_page import Markup, gallery, image, page, table

GALLERY_SIZE = 8
GALLERY_SIDE = 256
CONFUSION_SCORE = 0.3  # the confusion matrix and galleries show detections this confident


def _verdict(reason: str) -> Markup:
    passed = reason.startswith("PASS")
    return Markup(f'<span class="{"pass" if passed else "fail"}">{"pass" if passed else "FAIL"}</span>')


def _colour(rgb: tuple[int, int, int]) -> str:
    return "#%02x%02x%02x" % rgb


def _galleries(evaluation: Evaluation, ingest_uri: str, split: str) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    """(worst misses, worst false alarms): fractured images scored lowest, normal images scored highest."""
    scores = fracture_scores(evaluation.detections)
    fractured = fractured_images(evaluation.truths)
    misses = [int(i) for i in np.argsort(scores, kind="stable") if fractured[i]][:GALLERY_SIZE]
    alarms = [int(i) for i in np.argsort(-scores, kind="stable") if not fractured[i]][:GALLERY_SIZE]
    wanted = set(misses) | set(alarms)
    drawn: dict[int, bytes] = {}
    for index, (truth, encoded) in enumerate(read_split(ingest_uri, split)):
        if index in wanted:
            found = evaluation.detections[index]
            shown_mask = boxes_to_draw(found, CONFUSION_SCORE)
            shown = ImageDetections(found.boxes[shown_mask], found.scores[shown_mask], found.classes[shown_mask])
            drawn[index] = draw_boxes(encoded, shown, truth_boxes=truth.boxes, max_side=GALLERY_SIDE)
    caption = lambda i: f"{evaluation.truths[i].source_id} (fracture score {scores[i]:.2f})"  # noqa: E731
    return [(caption(i), drawn[i]) for i in misses], [(caption(i), drawn[i]) for i in alarms]


def render_report(evaluation: Evaluation, blessing: Blessing, champion: dict | None, ingest_uri: str,
                  options: EvaluateOptions) -> str:
    metrics = evaluation.metrics
    interval = metrics["map50_ci95"]
    banner = ('<div class="banner ok">Blessed: every check passed.</div>' if blessing.blessed
              else f'<div class="banner bad">Not blessed: {sum(not r.startswith("PASS") for r in blessing.reasons)} check(s) failed.</div>')
    parts = [
        "<h1>fracdet evaluation report</h1>",
        f"<p>Model: <code>{html.escape(evaluation.model_uri)}</code><br>Data: <code>{html.escape(ingest_uri)}</code>, "
        f"split <b>{html.escape(options.split)}</b>: {metrics['images']:,} images, {metrics['boxes']:,} boxes. "
        "Run through the model's serving signature, exactly as a server runs it.</p>",
        banner,
        table(["check", "result"], [(reason.split(" ", 1)[1], _verdict(reason)) for reason in blessing.reasons]),
        "<h2>Detection (COCO, pycocotools)</h2>",
        table(["metric", "value", "95% interval (bootstrap over images)"], [
            ("mAP@0.5", metrics["map50"], f"{interval[0]:.3f} – {interval[1]:.3f}" if interval else None),
            ("mAP@[.5:.95]", metrics["map50_95"], None),
            ("AR@100", metrics["ar100"], None),
            ("latency, one image through the signature (median ms)", metrics["latency_ms"], None),
        ]),
    ]
    if champion is not None:
        rows = [(name, metrics.get(key), champion.get(key)) for name, key in (("mAP@0.5", "map50"), ("mAP@[.5:.95]", "map50_95"))]
        rows += [(f"{name} (overall)", metrics["fracture"]["overall"].get(name), (champion.get("fracture") or {}).get("overall", {}).get(name))
                 for name in ("sensitivity", "specificity", "auc")]
        parts += ["<h2>Against the champion</h2>", f"<p>Champion: <code>{html.escape(str(champion.get('model')))}</code>, "
                  "evaluated on the same split.</p>", table(["metric", "this model", "champion"], rows)]
    parts += [
        "<h3>AP@0.5 per class</h3>",
        table(["class", "AP@0.5"], [(name, evaluation.coco.per_class_ap50[name]) for name in CLASS_NAMES]),
        image(plots.precision_recall(evaluation.coco), "precision-recall curves per class"),
        "<h2>Clinical: is the image fractured?</h2>",
        f"<p>An image is called fractured when any fracture box of its body part scores at least the threshold. "
        f"Each threshold is the highest that reaches sensitivity {options.target_sensitivity:.2f} on this split "
        "(so sensitivity meets the target by construction: read specificity and AUC). Serving can use these thresholds.</p>",
        table(["body part", "images", "fractured", "threshold", "sensitivity", "specificity", "ROC AUC"], [
            (name, group["n_images"], group["n_fractured"], group["threshold"], group["sensitivity"], group["specificity"], group["auc"])
            for name, group in metrics["fracture"].items()
        ]),
        image(plots.roc(evaluation.clinical), "ROC per body part"),
        "<h2>Lesion level: FROC</h2>",
        f"<p>A fracture counts as found when a fracture box of the right body part overlaps it at IoU &ge; "
        f"{evaluation.froc.iou_threshold}; every other fracture box is a false positive.</p>",
        table(["false positives per image", *metrics["froc"]["sensitivity_at_fp_per_image"]],
              [("fracture sensitivity", *metrics["froc"]["sensitivity_at_fp_per_image"].values())]),
        image(plots.froc(evaluation.froc), "FROC curve"),
        "<h2>Where it goes wrong</h2>",
        image(plots.confusion(detection_confusion(evaluation.truths, evaluation.detections, score_threshold=CONFUSION_SCORE),
                              CONFUSION_SCORE), "detection confusion matrix"),
    ]
    misses, alarms = _galleries(evaluation, ingest_uri, options.split)
    legend = (f'<p>Truth <span style="color:{_colour(TRUTH_COLOUR)}">green</span>; detections scoring at least {CONFUSION_SCORE} '
              f'drawn <span style="color:{_colour(FRACTURE_COLOUR)}">red</span> (fracture) or '
              f'<span style="color:{_colour(NORMAL_COLOUR)}">blue</span> (normal study).</p>')
    parts += [legend, "<h3>Worst misses: fractured images scored lowest</h3>", gallery(misses) if misses else "<p>None.</p>",
              "<h3>Worst false alarms: normal images scored highest</h3>", gallery(alarms) if alarms else "<p>None.</p>"]
    return page("fracdet evaluation", parts)
