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
    """The report page, one section per question a person asks of the data before training on it."""
    splits = stats["splits"]
    parts = [
        "<h1>fracdet data report</h1>",
        _overview_html(ingest_uri, stats),
        _banner_html(checks),
        "<h2>Data checks</h2>",
        table(["check", "kind", "result", "detail"], [(c.name, c.severity, _status(c), c.detail) for c in checks]),
    ]
    if drift is not None:
        parts += ["<h2>Drift against the baseline</h2>", _drift_html(drift)]
    parts += [
        "<h2>Classes</h2>",
        _classes_table(splits, weights),
        image(figures["class_counts"], "boxes per class and split"),
        "<h2>Fractured and normal studies per body part</h2>",
        _body_parts_table(splits["train"]["body_parts"]),
        image(figures["body_part_balance"], "fractured and normal images per body part"),
        "<h2>Box sizes and positions</h2>",
        image(figures["box_sizes"], "box width against height"),
        image(figures["box_positions"], "box centre positions"),
        "<h2>Sample training images</h2>",
        "<p>Fracture boxes in red, normal-study boxes in blue; out-of-scope images, one per anatomy, have none.</p>",
        *_sample_galleries(samples),
        _out_of_scope_html(splits),
        "<h2>Quarantine</h2>",
        _quarantine_html(stats["quarantine"]["reasons"]),
        "<h2>Class weights</h2>",
        table(["class", "weight"], [(name, weights[name]) for name in CLASS_NAMES]),
    ]
    return page("fracdet EDA", parts)


def _overview_html(ingest_uri: str, stats: dict) -> str:
    """One sentence: the ingest, each split's images, boxes and background images, and the quarantine."""
    splits = ", ".join(f"{split}: {s['images']:,} images, {s['boxes']:,} boxes, {s['background_images']:,} background"
                       + (f", {s['out_of_scope']['images']:,} out of scope" if s.get("out_of_scope", {}).get("images") else "")
                       for split, s in stats["splits"].items())
    quarantine = stats["quarantine"]
    return (f"<p>Ingest: <code>{html.escape(ingest_uri)}</code>. {splits}. "
            f"Quarantined: {quarantine['quarantined']:,} of {quarantine['found']:,} files found.</p>")


def _banner_html(checks: list[CheckResult]) -> str:
    """Whether training would start on this data, in a coloured banner."""
    failures = [check for check in checks if check.severity == "failure" and not check.passed]
    if failures:
        return f'<div class="banner bad">{len(failures)} data check(s) failed: training would not start on this data.</div>'
    return '<div class="banner ok">All data checks passed.</div>'


def _classes_table(splits: dict, weights: dict[str, float]) -> str:
    """Per class: boxes in each split, images in each split, and the class weight."""
    header = ["class", *(f"{split} boxes" for split in splits), *(f"{split} images" for split in splits), "weight"]
    rows = [
        (name, *(splits[s]["classes"][name]["boxes"] for s in splits), *(splits[s]["classes"][name]["images"] for s in splits),
         weights[name])
        for name in CLASS_NAMES
    ]
    return table(header, rows)


def _body_parts_table(body_parts: dict) -> str:
    """Per body part: fractured and normal training images, and the fractured share."""
    return table(
        ["body part", "fractured images", "normal images", "fractured share"],
        [(part, body_parts[part]["positive_images"], body_parts[part]["negative_images"], body_parts[part]["positive_share"])
         for part in BODY_PARTS],
    )


def _sample_galleries(samples: dict[str, list[tuple[str, bytes]]]) -> list[str]:
    """A heading and a gallery of thumbnails per sample group, or a note that it has none."""
    return [
        f"<h3>{html.escape(name)}</h3>{gallery(items)}" if items else f"<h3>{html.escape(name)}</h3><p>No sample available.</p>"
        for name, items in samples.items()
    ]


def out_of_scope_rows(splits: dict) -> list[tuple[object, ...]]:
    """(anatomy, images per split) for every anatomy of any split, sorted; empty when none holds out-of-scope images."""
    counts = {split: values.get("out_of_scope", {"anatomies": {}})["anatomies"] for split, values in splits.items()}
    anatomies = sorted({anatomy for per_split in counts.values() for anatomy in per_split})
    return [(anatomy, *(counts[split].get(anatomy, 0) for split in splits)) for anatomy in anatomies]


def _out_of_scope_html(splits: dict) -> str:
    """The section on out-of-scope images per anatomy and split: left out of the class tables and weights above."""
    rows = out_of_scope_rows(splits)
    if not rows:
        return "<h2>Out of scope</h2><p>No out-of-scope images: every image is a radiograph of one of the five body parts.</p>"
    note = ("<h2>Out of scope</h2><p>Images outside the indications (other anatomy, other modalities), stored without "
            "boxes; they are not in the class tables, the background counts or the class weights.</p>")
    return note + table(["anatomy", *(f"{split} images" for split in splits)], rows)


def _quarantine_html(reasons: dict[str, int]) -> str:
    """Quarantined files per reason, most frequent first."""
    if not reasons:
        return "<p>No file was quarantined.</p>"
    return table(["reason", "files"], sorted(reasons.items(), key=lambda item: -item[1]))


def _drift_html(drift: dict) -> str:
    shares = drift["class_shares"]
    lines = [
        f"<p>Baseline: <code>{html.escape(drift['baseline'])}</code>.</p>",
        "<p>" + ("Moved: " + html.escape("; ".join(drift["flagged"])) if drift["flagged"]
                 else "Nothing moved beyond the thresholds.") + "</p>",
        f"<p>Class shares: PSI {shares['psi']:.3f}, chi-square {shares['chi2']:.1f} (p {shares['chi2_p_value']:.3g}).</p>",
        table(["class", "baseline share", "current share"],
               [(name, values["baseline"], values["current"]) for name, values in shares["shares"].items()]),
    ]
    if drift["box_sizes"]:
        lines.append(table(["box size", "KS statistic", "p-value", "moved"],
                           [(metric, v["ks"], v["p_value"], "yes" if v["flagged"] else "no")
                            for metric, v in drift["box_sizes"].items()]))
    return "\n".join(lines)


def render_markdown(
    ingest_uri: str, stats: dict, weights: dict[str, float], checks: list[CheckResult], drift: dict | None
) -> str:
    splits = stats["splits"]
    lines = [
        "# fracdet data report",
        "",
        f"Ingest: `{ingest_uri}`",
        "",
        "| check | kind | result | detail |",
        "| --- | --- | --- | --- |",
        *(f"| {c.name} | {c.severity} | {'pass' if c.passed else ('FAIL' if c.severity == 'failure' else 'warning')} | "
          f"{c.detail} |" for c in checks),
        "",
        "| class | " + " | ".join(f"{split} boxes" for split in splits) + " | weight |",
        "| --- | " + " | ".join("---:" for _ in splits) + " | ---: |",
        *(f"| {name} | " + " | ".join(str(splits[s]["classes"][name]["boxes"]) for s in splits) + f" | {weights[name]:.3f} |"
          for name in CLASS_NAMES),
        "",
        f"Quarantined {stats['quarantine']['quarantined']} of {stats['quarantine']['found']} files"
        + ("" if not stats["quarantine"]["reasons"]
           else ": " + ", ".join(f"{r} {n}" for r, n in stats["quarantine"]["reasons"].items())),
    ]
    outside = out_of_scope_rows(splits)
    if outside:
        lines += ["", "| out of scope | " + " | ".join(f"{split} images" for split in splits) + " |",
                  "| --- | " + " | ".join("---:" for _ in splits) + " |",
                  *("| " + " | ".join(str(value) for value in row) + " |" for row in outside)]
    if drift is not None:
        moved = "; ".join(drift["flagged"]) if drift["flagged"] else "nothing moved beyond the thresholds."
        lines += ["", f"Drift against `{drift['baseline']}`: " + moved]
    return "\n".join(lines) + "\n"
