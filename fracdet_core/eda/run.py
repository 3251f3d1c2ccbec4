"""Run EDA on an ingest: statistics, class weights, checks, drift, and the report.

Writes `report.html`, `report.md`, `class_weights.json` and, last, `stats.json` (whose presence
means the EDA is whole), then raises `DataChecksFailedError` if any failure check did not pass, so
the pipeline stops before training while the report shows why.
"""

from __future__ import annotations

import io
import json

import pandas as pd

from fracdet_core import storage
from fracdet_core.data.manifest import read_manifest
from fracdet_core.eda import plots
from fracdet_core.eda.checks import CheckResult, run_checks
from fracdet_core.eda.config import EdaConfig
from fracdet_core.eda.drift import compare
from fracdet_core.eda.report import render_html, render_markdown
from fracdet_core.eda.samples import render_samples
from fracdet_core.eda.stats import box_table, compute_stats
from fracdet_core.eda.weights import class_weights
from fracdet_core.errors import FracdetError


class DataChecksFailedError(FracdetError):
    """At least one failure check did not pass; the message lists every one."""


def read_labels(ingest_uri: str) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(storage.read_bytes(storage.join(ingest_uri, "labels.parquet"))))


def read_baseline(baseline_uri: str) -> dict:
    uri = storage.join(baseline_uri, "stats.json")
    if not storage.exists(uri):
        raise FracdetError(f"baseline {baseline_uri} holds no stats.json: pass the output folder of an earlier EDA")
    return json.loads(storage.read_text(uri))


_DEFAULT_CONFIG = EdaConfig()


def run_eda(ingest_uri: str, out: str, config: EdaConfig = _DEFAULT_CONFIG, *, baseline_uri: str | None = None) -> dict:
    """Analyse the ingest at `ingest_uri` and write the EDA outputs to `out`; returns stats.json's content.

    Raises:
        IngestNotFoundError: `ingest_uri` holds no complete ingest.
        DataChecksFailedError: after writing every output, when a failure check did not pass.
    """
    manifest = read_manifest(ingest_uri)
    labels = read_labels(ingest_uri)
    baseline = read_baseline(baseline_uri) if baseline_uri else None
    storage.remove(storage.join(out, "stats.json"), missing_ok=True)

    stats = compute_stats(manifest, labels)
    weights = _training_class_weights(stats, config)
    checks = run_checks(stats, labels, config)
    drift = compare(stats, baseline, baseline_uri, config) if baseline is not None else None
    stats["checks"] = [vars(check) for check in checks]
    stats["drift"] = drift
    stats["class_weights"] = {"weighting": config.weighting, "beta": config.beta, "max_weight": config.max_weight}
    stats["source"] = {"ingest": ingest_uri, "data_yaml": manifest["source"]["data_yaml"]}

    figures = _figures(stats, labels)
    samples = render_samples(ingest_uri, labels, config.thumbnails_per_class)
    storage.write_text(storage.join(out, "report.html"), render_html(ingest_uri, stats, weights, checks, drift, figures, samples))
    storage.write_text(storage.join(out, "report.md"), render_markdown(ingest_uri, stats, weights, checks, drift))
    storage.write_text(storage.join(out, "class_weights.json"), json.dumps(weights, indent=2) + "\n")
    storage.write_text(storage.join(out, "stats.json"), json.dumps(stats, indent=2) + "\n")

    failed = [check for check in checks if check.severity == "failure" and not check.passed]
    if failed:
        raise DataChecksFailedError(_failure_message(failed, out))
    return stats


def _training_class_weights(stats: dict, config: EdaConfig) -> dict[str, float]:
    """Class name -> loss weight, from the boxes per class of the train split."""
    train_counts = {name: values["boxes"] for name, values in stats["splits"]["train"]["classes"].items()}
    return class_weights(train_counts, config.weighting, beta=config.beta, max_weight=config.max_weight)


def _figures(stats: dict, labels: pd.DataFrame) -> dict[str, bytes]:
    """The report's plots as PNG bytes, by the name `render_html` places them under."""
    boxes = box_table(labels)
    return {
        "class_counts": plots.class_counts(stats),
        "body_part_balance": plots.body_part_balance(stats),
        "box_sizes": plots.box_sizes(boxes),
        "box_positions": plots.box_positions(boxes),
    }


def _failure_message(failed: list[CheckResult], out: str) -> str:
    listed = "; ".join(f"{check.name}: {check.detail}" for check in failed)
    return f"{len(failed)} data check(s) failed: {listed} (report: {storage.join(out, 'report.html')})"
