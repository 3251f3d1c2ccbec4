"""The model card of a registered version (Mitchell et al., "Model Cards for Model Reporting", 2019).

Written for the radiologist or engineer deciding whether to trust a version: what it is for,
what it was trained on, how it measures per body part (with the interval of its mAP), which
thresholds serving should use, and what it must not be used for.
"""

from __future__ import annotations

import html
import math

from fracdet_core.classes import BODY_PARTS
from fracdet_core.html_page import page, table

INTENDED_USE = (
    "Flag likely fractures on elbow, finger, forearm, hand and shoulder radiographs and draw boxes around them, as a "
    "second reader or for triage, with a radiologist making every call."
)
LIMITATIONS = (
    "Research and engineering use: not a medical device, not cleared for clinical decisions; a radiologist reads every study.",
    "Measured on the validation split named below only; performance on other scanners, sites, ages or projections is unknown "
    "until measured there.",
    "Detects fractures of the elbow, finger, forearm, hand and shoulder in plain radiographs; other body parts and "
    "modalities are out of scope, and an image is assumed to show one body part.",
    "Operating thresholds were chosen on the validation split for the target sensitivity; they meet it there by "
    "construction and should be re-checked on local data before use.",
    "Models trained on the synthetic demo data learn synthetic anatomy and fractures; they say nothing about real X-rays.",
)


def _number(value: object) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def wilson_interval(share: float | None, count: int | None, z: float = 1.96) -> tuple[float, float] | None:
    """95% Wilson score interval of a proportion measured on `count` images (small samples stay inside [0, 1])."""
    if share is None or not count:
        return None
    centre = (share + z * z / (2 * count)) / (1 + z * z / count)
    half = z * math.sqrt(share * (1 - share) / count + z * z / (4 * count * count)) / (1 + z * z / count)
    return max(centre - half, 0.0), min(centre + half, 1.0)


def _with_interval(share: float | None, count: int | None) -> str:
    interval = wilson_interval(share, count)
    return _number(share) + (f" ({interval[0]:.2f}-{interval[1]:.2f})" if interval else "")


def _sections(metadata: dict, eda_stats: dict | None) -> list[tuple[str, list[str], list[list[str]] | None]]:
    """(title, paragraphs, table rows with a header first) for both renderings."""
    metrics = metadata["metrics"]
    return [
        ("Model", _model_summary(metadata), None),
        ("Intended use", [INTENDED_USE], None),
        ("Data", _data_summary(metadata, eda_stats), _body_part_rows(eda_stats)),
        ("Performance", _detection_summary(metrics), _fracture_call_rows(metrics.get("fracture") or {})),
        ("Operating thresholds", _thresholds_summary(metadata["operating_thresholds"]), None),
        ("Blessing", list(metadata.get("blessing_reasons") or ["no blessing recorded"]), None),
        ("Limitations", list(LIMITATIONS), None),
    ]


def _title(metadata: dict) -> str:
    """`<name> version <N>`; the name alone where the registry numbers the version after the card is written (MLflow's,
    whose version page shows the card under its number)."""
    return metadata["name"] if metadata["version"] is None else f"{metadata['name']} version {metadata['version']}"


def _serving(metadata: dict) -> str:
    if metadata["uri"] is None:
        return ("Serving: KServe TensorFlow predictor with storageUri the version's artifact folder (docs/mlflow.md); "
                "input: encoded PNG or JPEG bytes.")
    return f"Serving: KServe TensorFlow predictor with storageUri {metadata['uri']}; input: encoded PNG or JPEG bytes."


def _model_summary(metadata: dict) -> list[str]:
    """Which version, whether blessed, from which code, its fingerprint, and how it is served."""
    which = "A version" if metadata["version"] is None else f"Version {metadata['version']}"
    return [
        f"{which} of model '{metadata['name']}', registered {metadata['created_at']}.",
        f"Blessed: {'yes' if metadata.get('blessed') else 'no'}. Code {metadata['code_version']}, "
        f"commit {metadata.get('git_commit') or 'unknown (not recorded at registration)'}.",
        f"SavedModel sha256 {metadata.get('model_sha256') or '-'}, the model its evaluation measured.",
        _serving(metadata),
    ]


def _data_summary(metadata: dict, eda_stats: dict | None) -> list[str]:
    """The training data's location and manifest, and its size per split when the EDA is known."""
    data = [f"Training data: {metadata.get('data_uri') or 'unknown'} "
            f"(manifest sha256 {metadata.get('data_manifest_sha256') or '-'})."]
    if eda_stats:
        data.append("; ".join(f"{split}: {values['images']:,} images, {values['boxes']:,} boxes, "
                              f"{values['background_images']:,} without labels"
                              for split, values in eda_stats["splits"].items()) + ".")
    return data


def _body_part_rows(eda_stats: dict | None) -> list[list[str]] | None:
    """Fractured and normal training images per body part; None when the EDA does not say."""
    balance = eda_stats["splits"]["train"].get("body_parts", {}) if eda_stats else {}
    if not balance:
        return None
    return [["body part", "fractured training images", "normal training images"]] + [
        [part, str(balance[part]["positive_images"]), str(balance[part]["negative_images"])]
        for part in BODY_PARTS if part in balance
    ]


def _detection_summary(metrics: dict) -> list[str]:
    """Box detection figures with the interval of mAP@0.5, latency, and how to read the table below."""
    interval = metrics.get("map50_ci95")
    return [f"mAP@0.5 {_number(metrics.get('map50'))}"
            + (f" (95% bootstrap interval {interval[0]:.3f}-{interval[1]:.3f})" if interval else "")
            + f", mAP@[.5:.95] {_number(metrics.get('map50_95'))}, on {metrics.get('images')} {metrics.get('split')} images; "
            f"latency {_number(metrics.get('latency_ms'))} ms per image through the serving signature.",
            "Image-level fracture call per body part below; intervals are 95% Wilson intervals over the images counted."]


def _thresholds_summary(record: dict) -> list[str]:
    """Which file holds the thresholds serving applies, and the rule that chose them."""
    rule = record["rule"]
    return [
        f"Serving calls an image fractured at the thresholds in {record['file']} beside this card (sha256 {record['sha256']}, "
        f"schema version {record['schema_version']}): the threshold column above.",
        f"Chosen by the {rule['method'].replace('_', '-')} rule for a target sensitivity of {rule['target_sensitivity']:.2f}, "
        f"on the calibration half of the {rule['split']} split ({rule['calibration_images']} images, "
        f"{rule['calibration_fractured']} fractured); the figures above are of the other half.",
        *_definite_summary(record.get("definite_rule")),
    ]


def _definite_summary(rule: dict | None) -> list[str]:
    """The definite operating point's rule; nothing for a file without one (schema version 1)."""
    if rule is None:
        return []
    return [f"A call is definite where its score also reaches the part's definite threshold in the same file, chosen by the "
            f"{rule['method'].replace('_', '-')} rule for a target specificity of {rule['target_specificity']:.2f} over "
            f"{rule['calibration_normal']} normal calibration images; other calls are suspicious."]


def _fracture_call_rows(fracture: dict) -> list[list[str]]:
    """The image-level fracture call per body part, with Wilson intervals on its sensitivity and specificity."""
    rows = [["body part", "images", "fractured", "sensitivity (95% CI)", "specificity (95% CI)", "ROC AUC", "threshold"]]
    for group, values in fracture.items():
        fractured, images = values.get("n_fractured") or 0, values.get("n_images") or 0
        rows.append([group, _number(images), _number(fractured), _with_interval(values.get("sensitivity"), fractured),
                     _with_interval(values.get("specificity"), images - fractured), _number(values.get("auc")),
                     _number(values.get("threshold"))])
    return rows


def render_card_markdown(metadata: dict, eda_stats: dict | None) -> str:
    lines = [f"# Model card: {_title(metadata)}", ""]
    for title, paragraphs, rows in _sections(metadata, eda_stats):
        lines += [f"## {title}", ""]
        lines += [f"- {text}" for text in paragraphs] + [""]
        if rows:
            lines += ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
            lines += ["| " + " | ".join(row) + " |" for row in rows[1:]] + [""]
    return "\n".join(lines)


def render_card_html(metadata: dict, eda_stats: dict | None) -> str:
    body = [f"<h1>Model card: {html.escape(_title(metadata))}</h1>"]
    for title, paragraphs, rows in _sections(metadata, eda_stats):
        body.append(f"<h2>{html.escape(title)}</h2>")
        body += [f"<p>{html.escape(text)}</p>" for text in paragraphs]
        if rows:
            body.append(table(rows[0], rows[1:]))
    return page(f"fracdet model card: {_title(metadata)}", body)
