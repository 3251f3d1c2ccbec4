"""The metrics table printed at the end of `fracdet evaluate` and `make demo`: the figures people act on."""

from __future__ import annotations

from fracdet_core.evaluate.partition import CALIBRATION, TEST


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def metrics_table(metrics: dict) -> str:
    """mAP with its interval; the two halves of the split; per body part, the test half's figures, then the calibration half's."""
    interval = metrics.get("map50_ci95")
    span = f" (95% CI {interval[0]:.3f}-{interval[1]:.3f})" if interval else ""
    lines = [
        f"mAP@0.5 {_number(metrics['map50'])}{span}; mAP@[.5:.95] {_number(metrics['map50_95'])}; "
        f"{metrics['images']} {metrics['split']} test images; {metrics['latency_ms']:.1f} ms per image",
    ]
    partition = metrics.get("partition")
    if partition:
        calibration, test = partition[CALIBRATION], partition[TEST]
        lines.append(f"{metrics['split']} split: {partition['images']} images; calibration half {calibration['images']} "
                     f"({calibration['fractured']} fractured) chose the thresholds, test half {test['images']} "
                     f"({test['fractured']} fractured) gave every figure")
    if metrics.get("target_specificity") is not None:
        lines.append(f"operating points, chosen on the calibration half: suspicious for sensitivity "
                     f"{metrics['target_sensitivity']:.2f}, definite for specificity {metrics['target_specificity']:.2f}")
    lines += ["test half:", *_fracture_rows(metrics["fracture"])]
    if metrics.get("calibration_fracture"):
        lines += ["calibration half (thresholds chosen here):", *_fracture_rows(metrics["calibration_fracture"])]
    lines += _indications_rows(metrics.get("indications"))
    return "\n".join(lines)


def _indications_rows(indications: dict | None) -> list[str]:
    """The in-scope threshold's kept and turned-away shares, overall and per group, on one line each."""
    if not indications or indications["in_scope_threshold"] is None:
        return ["indications: no in-scope threshold (the model has no indications output, or the split no out-of-scope "
                "images to learn and measure what is out); no image is turned away by the model"]

    def shares(groups: dict) -> str:
        return ", ".join(f"{name} {_number(group['share'])} of {group['images']}" for name, group in groups.items())

    return [f"indications: in-scope threshold {indications['in_scope_threshold']:.4f} "
            f"(chosen to keep {indications['target_in_scope_kept']:.0%} of in-scope images)",
            f"  in scope, kept: {shares(indications['in_scope_kept'])}",
            f"  out of scope, turned away: {shares(indications['out_of_scope_rejected'])}"]


def _fracture_rows(fracture: dict) -> list[str]:
    """Per body part, under a header: sensitivity, specificity, AUC and threshold at the suspicious
    operating point, then sensitivity, specificity and threshold at the definite one."""
    lines = [f"{'':<10} {'':>6} {'':>9} {'suspicious':-^33} {'':>6} {'definite':-^33}",
             f"{'body part':<10} {'images':>6} {'fractured':>9} {'sensitivity':>11} {'specificity':>11} "
             f"{'threshold':>9} {'AUC':>6} {'sensitivity':>11} {'specificity':>11} {'threshold':>9}"]
    for part, group in fracture.items():
        definite = group.get("definite") or {}  # absent from a metrics.json written before the definite point
        lines.append(f"{part:<10} {group['n_images']:>6} {group['n_fractured']:>9} {_number(group['sensitivity']):>11} "
                     f"{_number(group['specificity']):>11} {_number(group['threshold']):>9} {_number(group['auc']):>6} "
                     f"{_number(definite.get('sensitivity')):>11} {_number(definite.get('specificity')):>11} "
                     f"{_number(definite.get('threshold')):>9}")
    return lines


def blessing_lines(blessed: bool, reasons: list[str]) -> str:
    return "\n".join([f"blessed: {'yes' if blessed else 'NO'}", *(f"  {reason}" for reason in reasons)])
