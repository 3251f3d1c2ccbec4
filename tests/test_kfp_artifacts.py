"""The glue between KFP artifacts and the library, with KFP's own artifact classes."""

from __future__ import annotations

import pytest
from kfp.dsl import HTML, Artifact, Dataset, Markdown, Metrics
from yolo_builders import labelled_dataset, one_box_per_class

from fracdet_components.artifacts import artifact_location, run_eda_component
from fracdet_core.eda.config import EdaConfig
from fracdet_core.eda.run import DataChecksFailedError
from fracdet_core.ingest import ingest_dataset


def test_gcs_artifacts_are_used_by_uri_and_others_by_path():
    assert artifact_location(Dataset(uri="gs://bucket/root/ingest/dataset")) == "gs://bucket/root/ingest/dataset"
    assert artifact_location(Dataset(uri="minio://mlpipeline/v2/artifacts/x")) == "/minio/mlpipeline/v2/artifacts/x"


def _outputs(tmp_path):
    return (
        Artifact(uri=str(tmp_path / "analysis")),
        HTML(uri=str(tmp_path / "report")),
        Markdown(uri=str(tmp_path / "summary")),
        Metrics(uri=str(tmp_path / "metrics")),
    )


def test_eda_fills_every_dashboard_artifact(tmp_path):
    data = labelled_dataset(tmp_path / "data", one_box_per_class() * 3, one_box_per_class())
    ingest_dataset(str(data), str(tmp_path / "ingest"), progress=False)
    analysis, report, summary, metrics = _outputs(tmp_path)
    run_eda_component(Dataset(uri=str(tmp_path / "ingest")), analysis, report, summary, metrics,
                      EdaConfig(min_class_boxes=1, max_share_gap=1.0), None)
    assert (tmp_path / "report").read_text().startswith("<!DOCTYPE html>")
    assert (tmp_path / "summary").read_text().startswith("# fracdet data report")
    assert metrics.metadata["train_boxes"] == 30.0 and metrics.metadata["failed_checks"] == 0.0
    assert {a.metadata["display_name"] for a in (analysis, report, summary, metrics)} == {
        "EDA statistics and class weights", "EDA report", "EDA summary", "Data figures",
    }


def test_a_failed_check_still_publishes_the_report(tmp_path):
    data = labelled_dataset(tmp_path / "data", one_box_per_class()[1:], one_box_per_class())
    ingest_dataset(str(data), str(tmp_path / "ingest"), progress=False)
    analysis, report, summary, metrics = _outputs(tmp_path)
    with pytest.raises(DataChecksFailedError, match="class_without_training_boxes"):
        run_eda_component(Dataset(uri=str(tmp_path / "ingest")), analysis, report, summary, metrics, EdaConfig(), None)
    assert "data check(s) failed" in (tmp_path / "report").read_text()
