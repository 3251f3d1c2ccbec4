"""The metrics table printed at the end of `fracdet evaluate` and `make demo`: the figures people act on."""

from __future__ import annotations


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def metrics_table(metrics: dict) -> str:
    """mAP with its interval, then sensitivity, specificity, AUC and threshold per body part."""
    interval = metrics.get("map50_ci95")
    span = f" (95% CI {interval[0]:.3f}-{interval[1]:.3f})" if interval else ""
    lines = [
        f"mAP@0.5 {_number(metrics['map50'])}{span}; mAP@[.5:.95] {_number(metrics['map50_95'])}; "
        f"{metrics['images']} {metrics['split']} images; {metrics['latency_ms']:.1f} ms per image",
        f"{'body part':<10} {'images':>6} {'fractured':>9} {'sensitivity':>11} {'specificity':>11} {'AUC':>6} {'threshold':>9}",
    ]
    for part, group in metrics["fracture"].items():
        lines.append(f"{part:<10} {group['n_images']:>6} {group['n_fractured']:>9} {_number(group['sensitivity']):>11} "
                     f"{_number(group['specificity']):>11} {_number(group['auc']):>6} {_number(group['threshold']):>9}")
    return "\n".join(lines)


def blessing_lines(blessed: bool, reasons: list[str]) -> str:
    return "\n".join([f"blessed: {'yes' if blessed else 'NO'}", *(f"  {reason}" for reason in reasons)])
