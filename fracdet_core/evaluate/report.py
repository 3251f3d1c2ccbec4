"""The evaluation report: one self-contained HTML page a reviewer reads before trusting a model.

Order follows the questions asked of a model: is it blessed and why; how good is it as a
detector (mAP with its interval, per-class AP); as a clinical tool (per body part, FROC);
where does it go wrong (confusion, then per body part the worst misses and false alarms, with boxes drawn).
Every figure is of the test half of the split; the calibration half, on which the operating
thresholds were chosen, is shown beside it with its own counts and image-level table.
"""

from __future__ import annotations

import html

import numpy as np

from fracdet_core.annotate import FRACTURE_COLOUR, NORMAL_COLOUR, TRUTH_COLOUR, boxes_to_draw, draw_boxes
from fracdet_core.classes import BODY_PARTS, CLASS_NAMES
from fracdet_core.evaluate import plots
from fracdet_core.evaluate.blessing import Blessing
from fracdet_core.evaluate.clinical import fracture_scores, fractured_images, image_body_parts
from fracdet_core.evaluate.config import EvaluateConfig
from fracdet_core.evaluate.confusion import detection_confusion
from fracdet_core.evaluate.inference import read_split
from fracdet_core.evaluate.measure import Evaluation
from fracdet_core.evaluate.partition import CALIBRATION, TEST
from fracdet_core.html_page import Markup, gallery, image, page, table
from fracdet_core.records import ImageDetections

GALLERY_SIZE = 3  # images per body part in each of its two galleries
GALLERY_SIDE = 256
CONFUSION_SCORE = 0.3  # the confusion matrix and galleries show detections this confident


def render_report(evaluation: Evaluation, blessing: Blessing, champion: dict | None, ingest_uri: str,
                  config: EvaluateConfig) -> str:
    """The report page; `champion` (its metrics.json) adds a side-by-side section."""
    parts = [
        *_verdict_section(evaluation, blessing, ingest_uri, config.split),
        *_detection_section(evaluation.metrics),
        *(_champion_section(evaluation.metrics, champion) if champion is not None else []),
        *_per_class_section(evaluation),
        *_clinical_section(evaluation, config),
        *_indications_section(evaluation.metrics.get("indications")),
        *_froc_section(evaluation),
        *_errors_section(evaluation, ingest_uri, config.split),
    ]
    return page("fracdet evaluation", parts)


def _verdict_section(evaluation: Evaluation, blessing: Blessing, ingest_uri: str, split: str) -> list[str]:
    """What was measured on what, and whether it is blessed, check by check."""
    metrics = evaluation.metrics
    failed = sum(not reason.startswith("PASS") for reason in blessing.reasons)
    banner = ('<div class="banner ok">Blessed: every check passed.</div>' if blessing.blessed
              else f'<div class="banner bad">Not blessed: {failed} check(s) failed.</div>')
    return [
        "<h1>fracdet evaluation report</h1>",
        f"<p>Model: <code>{html.escape(evaluation.model_uri)}</code><br>Data: <code>{html.escape(ingest_uri)}</code>, "
        f"split <b>{html.escape(split)}</b>: {metrics['partition']['images']:,} images, cut into a calibration half "
        f"({_half(metrics, CALIBRATION)}) that chose the operating thresholds and a test half ({_half(metrics, TEST)}, "
        f"{metrics['boxes']:,} boxes) that every figure below is of. "
        "Run through the model's serving signature, exactly as a server runs it.</p>",
        banner,
        table(["check", "result"], [(reason.split(" ", 1)[1], _check_result(reason)) for reason in blessing.reasons]),
    ]


def _half(metrics: dict, name: str) -> str:
    half = metrics["partition"][name]
    return f"{half['images']:,} images, {half['fractured']:,} fractured"


def _check_result(reason: str) -> Markup:
    passed = reason.startswith("PASS")
    return Markup(f'<span class="{"pass" if passed else "fail"}">{"pass" if passed else "FAIL"}</span>')


def _detection_section(metrics: dict) -> list[str]:
    interval = metrics["map50_ci95"]
    return [
        "<h2>Detection (COCO, pycocotools)</h2>",
        table(["metric", "value", "95% interval (bootstrap over images)"], [
            ("mAP@0.5", metrics["map50"], f"{interval[0]:.3f} \u2013 {interval[1]:.3f}" if interval else None),
            ("mAP@[.5:.95]", metrics["map50_95"], None),
            ("AR@100", metrics["ar100"], None),
            ("latency, one image through the signature (median ms)", metrics["latency_ms"], None),
        ]),
    ]


def _champion_section(metrics: dict, champion: dict) -> list[str]:
    rows = [(name, metrics.get(key), champion.get(key)) for name, key in (("mAP@0.5", "map50"), ("mAP@[.5:.95]", "map50_95"))]
    champion_overall = (champion.get("fracture") or {}).get("overall", {})
    rows += [(f"{name} (overall)", metrics["fracture"]["overall"].get(name), champion_overall.get(name))
             for name in ("sensitivity", "specificity", "auc")]
    return ["<h2>Against the champion</h2>",
            f"<p>Champion: <code>{html.escape(str(champion.get('model')))}</code>, evaluated on the same split.</p>",
            table(["metric", "this model", "champion"], rows)]


def _per_class_section(evaluation: Evaluation) -> list[str]:
    return [
        "<h3>AP@0.5 per class</h3>",
        table(["class", "AP@0.5"], [(name, evaluation.measures.coco.per_class_ap50[name]) for name in CLASS_NAMES]),
        image(plots.precision_recall(evaluation.measures.coco), "precision-recall curves per class"),
    ]


def _clinical_section(evaluation: Evaluation, config: EvaluateConfig) -> list[str]:
    metrics = evaluation.metrics
    return [
        "<h2>Clinical: is the image fractured?</h2>",
        "<p>An image is called fractured as <code>fracdet predict</code> and serving call it: its body part is that of "
        "its most confident detection, and it is fractured when a fracture box of that part scores at least the part's "
        "threshold. Two operating points per body part, both chosen on the calibration half by split-conformal ranks: "
        f"<b>suspicious</b>, the threshold a new fractured image reaches with probability at least "
        f"{config.target_sensitivity:.2f} (the target sensitivity), and <b>definite</b>, the threshold a new normal image "
        f"stays under with probability at least {config.target_specificity:.2f} (the target specificity); a call is "
        "definite when its score reaches the definite threshold too. A part with too few normal calibration images takes "
        "the overall definite threshold; one whose definite threshold would fall below its suspicious one takes the "
        "suspicious one (the <i>basis</i> column). The test half, which chose nothing, says how the thresholds fare on "
        "images they have not seen. The overall row counts these same calls over every image; ROC AUCs need no "
        "threshold.</p>",
        "<h3>Test half (the figures the blessing reads)</h3>",
        _fracture_table(metrics["fracture"]),
        _definite_against_target(metrics["fracture"], config.target_specificity),
        image(plots.roc(evaluation.measures.clinical), "ROC per body part, test half"),
        "<h3>Calibration half (where the thresholds were chosen)</h3>",
        _fracture_table(metrics["calibration_fracture"]),
        "<h3>The two halves</h3>",
        f"<p>{html.escape(metrics['partition']['rule'])}.</p>",
        _partition_table(metrics["partition"]),
    ]


def _indications_section(indications: dict | None) -> list[str]:
    """What the in-scope threshold keeps per body part and turns away per anatomy, on the test half."""
    if not indications or indications["in_scope_threshold"] is None:
        return ["<h2>Indications: is the image one the model is for?</h2>",
                "<p>No in-scope threshold: the model has no indications output (a model trained before it had one), "
                "or the split holds no out-of-scope images, without which the model learns nothing of what is out "
                "and nothing here could measure it. The model turns no image away; DICOM tags and the image "
                "checks still do (<code>fracdet predict</code>).</p>"]
    rows = [("in scope, kept", group, share["images"], share["share"])
            for group, share in indications["in_scope_kept"].items()]
    rows += [("out of scope, turned away", group, share["images"], share["share"])
             for group, share in indications["out_of_scope_rejected"].items()]
    return [
        "<h2>Indications: is the image one the model is for?</h2>",
        f"<p>An image whose in-scope score is under {indications['in_scope_threshold']:.4f} gets no fracture call: "
        f"the threshold was chosen on the calibration half's {indications['calibration_in_scope_images']:,} in-scope "
        f"images to keep {indications['target_in_scope_kept']:.0%} of new in-scope images. Test half, in-scope images "
        "by the body part of their boxes, out-of-scope images by what they show:</p>",
        table(["images", "group", "count", "share"], rows),
    ]


def _fracture_table(fracture: dict) -> str:
    """Per body part: counts, ROC AUC, and each operating point's threshold, sensitivity and specificity."""
    columns = ("n_images", "n_fractured", "auc", "threshold", "sensitivity", "specificity")
    definite_columns = ("threshold", "sensitivity", "specificity", "basis")
    return table(["body part", "images", "fractured", "ROC AUC", "suspicious threshold", "sensitivity", "specificity",
                  "definite threshold", "sensitivity", "specificity", "basis"],
                 [(name, *(group[column] for column in columns),
                   *((group.get("definite") or {}).get(column) for column in definite_columns))
                  for name, group in fracture.items()])


def _definite_against_target(fracture: dict, target: float) -> str:
    """One line: each group's specificity at the definite point on the test half, less its target."""
    measured = [(name, (group.get("definite") or {}).get("specificity")) for name, group in fracture.items()]
    shown = [f"{html.escape(name)} {value:.3f} ({value - target:+.3f})" for name, value in measured if value is not None]
    if not shown:
        return "<p>No definite operating point was measured on the test half (no threshold, or no normal image).</p>"
    return f"<p>Specificity at the definite point against its target {target:.2f}: {'; '.join(shown)}.</p>"


def _partition_table(partition: dict) -> str:
    """Images and fractured images per body part in each half."""
    calibration, test = partition[CALIBRATION]["by_part"], partition[TEST]["by_part"]
    rows = [(part, calibration[part]["images"], calibration[part]["fractured"], test[part]["images"], test[part]["fractured"])
            for part in calibration]
    rows.append(("all", partition[CALIBRATION]["images"], partition[CALIBRATION]["fractured"],
                 partition[TEST]["images"], partition[TEST]["fractured"]))
    return table(["body part", "calibration images", "calibration fractured", "test images", "test fractured"], rows)


def _froc_section(evaluation: Evaluation) -> list[str]:
    sensitivity_at = evaluation.metrics["froc"]["sensitivity_at_fp_per_image"]
    return [
        "<h2>Lesion level: FROC</h2>",
        f"<p>A fracture counts as found when a fracture box of the right body part overlaps it at IoU &ge; "
        f"{evaluation.measures.froc.iou_threshold}; every other fracture box is a false positive.</p>",
        table(["false positives per image", *sensitivity_at], [("fracture sensitivity", *sensitivity_at.values())]),
        image(plots.froc(evaluation.measures.froc), "FROC curve"),
    ]


def _errors_section(evaluation: Evaluation, ingest_uri: str, split: str) -> list[str]:
    """The confusion matrix, then each body part's worst misses and false alarms with their boxes drawn.

    Per body part because a model's failures differ by part (it can miss at the elbow and shoulder,
    where bones overlap at joints, and not at the finger), which one gallery over all parts hides.
    """
    confusion = detection_confusion(*evaluation.test_records(), score_threshold=CONFUSION_SCORE)
    parts = image_body_parts(evaluation.truths)
    tested = evaluation.measures.partition.test
    scores = fracture_scores(evaluation.detections)
    worst = _worst_by_part(parts, fractured_images(evaluation.truths), scores, tested)
    drawn = _drawn_images(evaluation, ingest_uri, split, {i for misses, alarms in worst.values() for i in misses + alarms})
    legend = (f'<p>Truth <span style="color:{_colour(TRUTH_COLOUR)}">green</span>; detections scoring at least {CONFUSION_SCORE} '
              f'drawn <span style="color:{_colour(FRACTURE_COLOUR)}">red</span> (fracture) or '
              f'<span style="color:{_colour(NORMAL_COLOUR)}">blue</span> (normal study).</p>')

    def shown(indices: list[int], absent: str) -> str:
        captioned = [(f"{evaluation.truths[i].source_id} (fracture score {scores[i]:.2f})", drawn[i]) for i in indices]
        return gallery(captioned) if captioned else f"<p>{absent}</p>"

    section = ["<h2>Where it goes wrong</h2>",
               image(plots.confusion(confusion, CONFUSION_SCORE), "detection confusion matrix"),
               legend, _galleries_note(sum(parts[i] is None for i in tested))]
    for part, (misses, alarms) in worst.items():
        section += [f"<h3>{part}</h3>",
                    "<h4>Worst misses: fractured test images scored lowest</h4>", shown(misses, "No fractured test image."),
                    "<h4>Worst false alarms: normal test images scored highest</h4>", shown(alarms, "No normal test image.")]
    return section


def _galleries_note(unlabelled: int) -> str:
    """What the galleries hold, and the test images without labels that none of them can."""
    note = (f"Per body part (that of the truth boxes, as in the clinical table), the {GALLERY_SIZE} fractured test images "
            f"with the lowest fracture score and the {GALLERY_SIZE} normal ones with the highest; "
            "a score is the image's most confident fracture detection of any part.")
    if unlabelled:
        note += (f" {unlabelled:,} test image(s) without labels have no body part and are in no gallery; "
                 "the confusion matrix counts their detections.")
    return f"<p>{note}</p>"


def _colour(rgb: tuple[int, int, int]) -> str:
    red, green, blue = rgb
    return f"#{red:02x}{green:02x}{blue:02x}"


def _worst_by_part(parts: list[str | None], fractured: np.ndarray, scores: np.ndarray,
                   tested: np.ndarray) -> dict[str, tuple[list[int], list[int]]]:
    """Body part of `BODY_PARTS` -> (worst misses, worst false alarms), at most GALLERY_SIZE image indices each.

    Args:
        parts: (I,) each image's body part (`image_body_parts`); None, for an image without boxes,
            is no part's.
        fractured: bool (I,) truth; scores: float (I,) fracture scores.
        tested: int (T,) ascending indices of the test half, the only images shown.

    Returns:
        Misses: fractured images of the part, lowest score first; false alarms: its normal images,
        highest score first. Equal scores keep the split's order, so the page is the same on every run.
    """
    ascending = tested[np.argsort(scores[tested], kind="stable")]
    descending = tested[np.argsort(-scores[tested], kind="stable")]
    return {part: ([int(i) for i in ascending if parts[i] == part and fractured[i]][:GALLERY_SIZE],
                   [int(i) for i in descending if parts[i] == part and not fractured[i]][:GALLERY_SIZE])
            for part in BODY_PARTS}


def _drawn_images(evaluation: Evaluation, ingest_uri: str, split: str, wanted: set[int]) -> dict[int, bytes]:
    """Image index -> PNG of that image with its truth and its confident detections drawn."""
    drawn: dict[int, bytes] = {}
    for index, (truth, encoded) in enumerate(read_split(ingest_uri, split)):
        if index in wanted:
            found = evaluation.detections[index]
            shown_mask = boxes_to_draw(found, CONFUSION_SCORE)
            shown = ImageDetections(found.boxes[shown_mask], found.scores[shown_mask], found.classes[shown_mask])
            drawn[index] = draw_boxes(encoded, shown, truth_boxes=truth.boxes, max_side=GALLERY_SIDE)
    return drawn
