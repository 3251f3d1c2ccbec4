"""The EDA report as one self-contained HTML page and as Markdown.

Self-contained (see `fracdet_core.html_page`): the dashboard shows it in a sandboxed frame.
"""

from __future__ import annotations

import html

from fracdet_core.classes import BODY_PARTS, CLASS_NAMES
from fracdet_core.eda.checks import CheckResult
from fracdet_core.html_page import Markup, gallery, image, page, table


def _status(check: CheckResult) -> Markup:
    if check.passed:
        return Markup('<span class="pass">pass</span>')
    return Markup('<span class="fail">FAIL</span>' if check.severity == "failure" else '<span class="warn">warning</span>')


def render_html(
    ingest_uri: str,
    stats: dict,
    weights: dict[str, float],
    checks: list[CheckResult],
    drift: dict | None,
    figures: dict[str, bytes],
    samples: dict[str, list[tuple[str, bytes]]],
) -> str:
    splits = stats["splits"]
    failures = [check for check in checks if check.severity == "failure" and not check.passed]
    banner = (
        f'<div class="banner bad">{len(failures)} data check(s) failed: training would not start on this data.</div>'
        if failures else '<div class="banner ok">All data checks passed.</div>'
    )
    parts = [
        "<h1>fracdet data report</h1>",
        f"<p>Ingest: <code>{html.escape(ingest_uri)}</code>. "
        + ", ".join(f"{split}: {s['images']:,} images, {s['boxes']:,} boxes, {s['background_images']:,} background"
                    for split, s in splits.items())
        + f". Quarantined: {stats['quarantine']['quarantined']:,} of {stats['quarantine']['found']:,} files found.</p>",
        banner,
        "<h2>Data checks</h2>",
        table(["check", "kind", "result", "detail"], [(c.name, c.severity, _status(c), c.detail) for c in checks]),
    ]
    if drift is not None:
        parts += ["<h2>Drift against the baseline</h2>", _drift_html(drift)]
    parts += [
        "<h2>Classes</h2>",
        table(
            ["class", *(f"{split} boxes" for split in splits), *(f"{split} images" for split in splits), "weight"],
            [
                (name, *(splits[s]["classes"][name]["boxes"] for s in splits), *(splits[s]["classes"][name]["images"] for s in splits), weights[name])
                for name in CLASS_NAMES
            ],
        ),
        image(figures["class_counts"], "boxes per class and split"),
        "<h2>Fractured and normal studies per body part</h2>",
        table(
            ["body part", "fractured images", "normal images", "fractured share"],
            [(part, b["positive_images"], b["negative_images"], b["positive_share"])
             for part, b in ((p, splits["train"]["body_parts"][p]) for p in BODY_PARTS)],
        ),
        image(figures["body_part_balance"], "fractured and normal images per body part"),
        "<h2>Box sizes and positions</h2>",
        image(figures["box_sizes"], "box width against height"),
        image(figures["box_positions"], "box centre positions"),
        "<h2>Sample training images</h2>",
        "<p>Fracture boxes in red, normal-study boxes in blue.</p>",
    ]
    for name, items in samples.items():
        if not items:
            parts.append(f"<h3>{html.escape(name)}</h3><p>No sample available.</p>")
            continue
        parts.append(f"<h3>{html.escape(name)}</h3>{gallery(items)}")
    reasons = stats["quarantine"]["reasons"]
    parts += [
        "<h2>Quarantine</h2>",
        table(["reason", "files"], sorted(reasons.items(), key=lambda item: -item[1])) if reasons else "<p>No file was quarantined.</p>",
        "<h2>Class weights</h2>",
        table(["class", "weight"], [(name, weights[name]) for name in CLASS_NAMES]),
    ]
    return page("fracdet EDA", parts)


def _drift_html(drift: dict) -> str:
    shares = drift["class_shares"]
    lines = [
        f"<p>Baseline: <code>{html.escape(drift['baseline'])}</code>.</p>",
        "<p>" + ("Moved: " + html.escape("; ".join(drift["flagged"])) if drift["flagged"] else "Nothing moved beyond the thresholds.") + "</p>",
        f"<p>Class shares: PSI {shares['psi']:.3f}, chi-square {shares['chi2']:.1f} (p {shares['chi2_p_value']:.3g}).</p>",
        table(["class", "baseline share", "current share"],
               [(name, values["baseline"], values["current"]) for name, values in shares["shares"].items()]),
    ]
    if drift["box_sizes"]:
        lines.append(table(["box size", "KS statistic", "p-value", "moved"],
                            [(metric, v["ks"], v["p_value"], "yes" if v["flagged"] else "no") for metric, v in drift["box_sizes"].items()]))
    return "\n".join(lines)


def render_markdown(ingest_uri: str, stats: dict, weights: dict[str, float], checks: list[CheckResult], drift: dict | None) -> str:
    splits = stats["splits"]
    lines = [
        "# fracdet data report",
        "",
        f"Ingest: `{ingest_uri}`",
        "",
        "| check | kind | result | detail |",
        "| --- | --- | --- | --- |",
        *(f"| {c.name} | {c.severity} | {'pass' if c.passed else ('FAIL' if c.severity == 'failure' else 'warning')} | {c.detail} |" for c in checks),
        "",
        "| class | " + " | ".join(f"{split} boxes" for split in splits) + " | weight |",
        "| --- | " + " | ".join("---:" for _ in splits) + " | ---: |",
        *(f"| {name} | " + " | ".join(str(splits[s]["classes"][name]["boxes"]) for s in splits) + f" | {weights[name]:.3f} |"
          for name in CLASS_NAMES),
        "",
        f"Quarantined {stats['quarantine']['quarantined']} of {stats['quarantine']['found']} files"
        + ("" if not stats["quarantine"]["reasons"] else ": " + ", ".join(f"{r} {n}" for r, n in stats["quarantine"]["reasons"].items())),
    ]
    if drift is not None:
        lines += ["", f"Drift against `{drift['baseline']}`: " + ("; ".join(drift["flagged"]) if drift["flagged"] else "nothing moved beyond the thresholds.")]
    return "\n".join(lines) + "\n"
