"""The EDA component: statistics, class weights, data checks and drift, with a dashboard report."""

from kfp import dsl
from kfp.dsl import HTML, Artifact, Dataset, Input, Markdown, Metrics, Output

from fracdet_components.image import FRACDET_IMAGE


@dsl.component(base_image=FRACDET_IMAGE, install_kfp_package=False)
def eda(
    dataset: Input[Dataset],
    analysis: Output[Artifact],
    report: Output[HTML],
    summary: Output[Markdown],
    metrics: Output[Metrics],
    baseline_uri: str = "",
    weighting: str = "balanced",
    max_quarantine_share: float = 0.1,
) -> None:
    """Analyse the ingested labels; fail the run when the data is broken.

    Args:
        dataset: the ingest output (manifest.json, labels.parquet, shards).
        analysis: folder with stats.json, class_weights.json (class name -> weight), report.html
            and report.md; training reads the weights from here.
        report: the self-contained HTML report, shown in the dashboard.
        summary: the report's key tables as Markdown, shown in the dashboard.
        metrics: key figures (images, boxes, quarantine share, failed checks, drift flags).
        baseline_uri: an earlier EDA output (the champion's) to measure drift against; empty for none.
        weighting: class weights, "balanced" or "effective".
        max_quarantine_share: fail when a larger share of the files found was quarantined.
    """
    from fracdet_components.artifacts import run_eda_component
    from fracdet_core.eda.config import EdaConfig

    config = EdaConfig(weighting=weighting, max_quarantine_share=max_quarantine_share)
    run_eda_component(dataset, analysis, report, summary, metrics, config, baseline_uri or None)
