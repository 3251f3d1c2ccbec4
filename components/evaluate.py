"""The evaluate component: detection and clinical metrics on the val split, and the blessing a `dsl.If` reads."""

from kfp import dsl
from kfp.dsl import HTML, Artifact, ClassificationMetrics, Dataset, Input, Metrics, Model, Output

from fracdet_components.image import FRACDET_IMAGE


@dsl.component(base_image=FRACDET_IMAGE, install_kfp_package=False)
def evaluate(
    dataset: Input[Dataset],
    model: Input[Model],
    analysis: Input[Artifact],
    evaluation: Output[Artifact],
    metrics: Output[Metrics],
    fracture_call: Output[ClassificationMetrics],
    report: Output[HTML],
    operating_thresholds: Output[Artifact],
    registry_uri: str = "",
    model_name: str = "fracdet",
    thresholds_uri: str = "",
    target_sensitivity: float = 0.9,
    target_specificity: float = 0.95,
    target_in_scope_kept: float = 0.99,
    run_id: str = "",
    mlflow_tracking_uri: str = "",
    kfp_dashboard_url: str = "",
) -> bool:
    """Run the model's serving signature on the val split; measure, compare with the champion, bless or not.

    Args:
        dataset: the ingest output.
        model: the train output (saved_model/ inside).
        analysis: the EDA output; its summary and class weights are logged to MLflow with the training.
        evaluation: folder with metrics.json, blessing.json and report.html.
        metrics: mAP@0.5 with its bootstrap interval, mAP@[.5:.95], AR@100, latency, and
            sensitivity, specificity and AUC per body part, shown in the dashboard.
        fracture_call: ROC curve and confusion matrix of the image-level fracture call.
        report: the self-contained HTML report.
        operating_thresholds: operating_thresholds.json, the per-body-part thresholds the model is to serve
            with and the rule that chose them; the register task keeps it with the version.
        registry_uri: the registry whose champion (when it has one) is evaluated on the same split
            and must not be regressed against; empty for no comparison.
        model_name: the model's name in the registry.
        thresholds_uri: blessing thresholds YAML (the gates, not the operating thresholds); empty for the defaults.
        target_sensitivity: image-level sensitivity the per-body-part thresholds are set for.
        target_specificity: image-level specificity the per-body-part "definite" thresholds are set for.
        target_in_scope_kept: the share of in-scope images the in-scope threshold is set to keep.
        run_id: the pipeline run's ID; with a registry, the blessing is also left at
            `<registry_uri>/<model_name>/runs/<run_id>/blessing.json` for the exit handler's task.
        mlflow_tracking_uri: an MLflow tracking server (else the pod's MLFLOW_TRACKING_URI; neither: no tracking): the
            pipeline run becomes one MLflow run with the training's and the evaluation's params, metrics and files.
            Logged here, not by the train task: training is cached, and a cached task logs nothing.
        kfp_dashboard_url: the Kubeflow Pipelines UI's address, with which the MLflow run links to this run's page.

    Returns:
        Whether every blessing check passed; a `dsl.If` gates registration on it. (A single
        output: kfp.local resolves a condition on a task's `Output`, not on named outputs.)
    """
    from fracdet_components.artifacts import log_to_mlflow, run_evaluate_component
    from fracdet_components.run_records import record_blessing

    blessed = run_evaluate_component(
        dataset, model, evaluation, metrics, fracture_call, report, operating_thresholds, registry_uri=registry_uri or None,
        model_name=model_name,
        thresholds_uri=thresholds_uri or None, target_sensitivity=target_sensitivity,
        target_specificity=target_specificity, target_in_scope_kept=target_in_scope_kept,
    )
    if registry_uri and run_id:
        record_blessing(registry_uri, model_name, run_id, blessed)
    log_to_mlflow(dataset, model, analysis, evaluation, tracking_uri=mlflow_tracking_uri, model_name=model_name,
                  run_id=run_id, dashboard_url=kfp_dashboard_url)
    return blessed
