"""The EDA report as one self-contained HTML page and as Markdown.

The Kubeflow dashboard shows HTML artifacts in a sandboxed frame, so the page carries its
figures as inline PNG data and loads nothing: no scripts, no fonts, no style sheets.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence

from fracdet_core.classes import BODY_PARTS, CLASS_NAMES
from fracdet_core.eda.checks import CheckResult

_STYLE = """
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1100px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 8px 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; } td.n { text-align: right; }
.pass { color: #1a7f37; font-weight: bold; } .fail { color: #c62828; font-weight: bold; } .warn { color: #b26a00; font-weight: bold; }
.banner { padding: 8px 12px; border-radius: 4px; margin: 8px 0; }
.banner.ok { background: #e6f4ea; } .banner.bad { background: #fdecea; }
.gallery { display: flex; flex-wrap: wrap; gap: 8px; } figure { margin: 0; font-size: 0.75em; max-width: 192px; }
figcaption { word-break: break-all; }
"""


def _image(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(str(cell))}</th>" for cell in header)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="n">{cell:,}</td>' if isinstance(cell, int) else
            f'<td class="n">{cell:.3f}</td>' if isinstance(cell, float) else
            f"<td>{cell}</td>" if isinstance(cell, _Markup) else
            f"<td>{html.escape(str(cell))}</td>"
            for cell in row
        ) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class _Markup(str):
    """Text that is already HTML."""


def _status(check: CheckResult) -> _Markup:
    if check.passed:
        return _Markup('<span class="pass">pass</span>')
    return _Markup('<span class="fail">FAIL</span>' if check.severity == "failure" else '<span class="warn">warning</span>')


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
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>fracdet EDA</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>fracdet data report</h1>",
        f"<p>Ingest: <code>{html.escape(ingest_uri)}</code>. "
        + ", ".join(f"{split}: {s['images']:,} images, {s['boxes']:,} boxes, {s['background_images']:,} background"
                    for split, s in splits.items())
        + f". Quarantined: {stats['quarantine']['quarantined']:,} of {stats['quarantine']['found']:,} files found.</p>",
        banner,
        "<h2>Data checks</h2>",
        _table(["check", "kind", "result", "detail"], [(c.name, c.severity, _status(c), c.detail) for c in checks]),
    ]
    if drift is not None:
        parts += ["<h2>Drift against the baseline</h2>", _drift_html(drift)]
    parts += [
        "<h2>Classes</h2>",
        _table(
            ["class", *(f"{split} boxes" for split in splits), *(f"{split} images" for split in splits), "weight"],
            [
                (name, *(splits[s]["classes"][name]["boxes"] for s in splits), *(splits[s]["classes"][name]["images"] for s in splits), weights[name])
                for name in CLASS_NAMES
            ],
        ),
        _image(figures["class_counts"], "boxes per class and split"),
        "<h2>Fractured and normal studies per body part</h2>",
        _table(
            ["body part", "fractured images", "normal images", "fractured share"],
            [(part, b["positive_images"], b["negative_images"], b["positive_share"])
             for part, b in ((p, splits["train"]["body_parts"][p]) for p in BODY_PARTS)],
        ),
        _image(figures["body_part_balance"], "fractured and normal images per body part"),
        "<h2>Box sizes and positions</h2>",
        _image(figures["box_sizes"], "box width against height"),
        _image(figures["box_positions"], "box centre positions"),
        "<h2>Sample training images</h2>",
        "<p>Fracture boxes in red, normal-study boxes in blue.</p>",
    ]
    for name, items in samples.items():
        if not items:
            parts.append(f"<h3>{html.escape(name)}</h3><p>No sample available.</p>")
            continue
        gallery = "".join(f"<figure>{_image(png, image_id)}<figcaption>{html.escape(image_id)}</figcaption></figure>" for image_id, png in items)
        parts.append(f'<h3>{html.escape(name)}</h3><div class="gallery">{gallery}</div>')
    reasons = stats["quarantine"]["reasons"]
    parts += [
        "<h2>Quarantine</h2>",
        _table(["reason", "files"], sorted(reasons.items(), key=lambda item: -item[1])) if reasons else "<p>No file was quarantined.</p>",
        "<h2>Class weights</h2>",
        _table(["class", "weight"], [(name, weights[name]) for name in CLASS_NAMES]),
        "</body></html>",
    ]
    return "\n".join(parts)


def _drift_html(drift: dict) -> str:
    shares = drift["class_shares"]
    lines = [
        f"<p>Baseline: <code>{html.escape(drift['baseline'])}</code>.</p>",
        "<p>" + ("Moved: " + html.escape("; ".join(drift["flagged"])) if drift["flagged"] else "Nothing moved beyond the thresholds.") + "</p>",
        f"<p>Class shares: PSI {shares['psi']:.3f}, chi-square {shares['chi2']:.1f} (p {shares['chi2_p_value']:.3g}).</p>",
        _table(["class", "baseline share", "current share"],
               [(name, values["baseline"], values["current"]) for name, values in shares["shares"].items()]),
    ]
    if drift["box_sizes"]:
        lines.append(_table(["box size", "KS statistic", "p-value", "moved"],
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
