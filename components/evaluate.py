"""The evaluate component: detection and clinical metrics on the val split, and the blessing a `dsl.If` reads."""

from kfp import dsl
from kfp.dsl import HTML, Artifact, ClassificationMetrics, Dataset, Input, Metrics, Model, Output

from fracdet_components.image import FRACDET_IMAGE


@dsl.component(base_image=FRACDET_IMAGE, install_kfp_package=False)
def evaluate(
    dataset: Input[Dataset],
    model: Input[Model],
    evaluation: Output[Artifact],
    metrics: Output[Metrics],
    fracture_call: Output[ClassificationMetrics],
    report: Output[HTML],
    operating_thresholds: Output[Artifact],
    registry_uri: str = "",
    model_name: str = "fracdet",
    thresholds_uri: str = "",
    target_sensitivity: float = 0.9,
    run_id: str = "",
) -> bool:
    """Run the model's serving signature on the val split; measure, compare with the champion, bless or not.

    Args:
        dataset: the ingest output.
        model: the train output (saved_model/ inside).
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
        run_id: the pipeline run's ID; with a registry, the blessing is also left at
            `<registry_uri>/<model_name>/runs/<run_id>/blessing.json` for the exit handler's task.

    Returns:
        Whether every blessing check passed; a `dsl.If` gates registration on it. (A single
        output: kfp.local resolves a condition on a task's `Output`, not on named outputs.)
    """
    from fracdet_components.artifacts import run_evaluate_component
    from fracdet_components.run_records import record_blessing

    blessed = run_evaluate_component(
        dataset, model, evaluation, metrics, fracture_call, report, operating_thresholds, registry_uri=registry_uri or None,
        model_name=model_name,
        thresholds_uri=thresholds_uri or None, target_sensitivity=target_sensitivity,
    )
    if registry_uri and run_id:
        record_blessing(registry_uri, model_name, run_id, blessed)
    return blessed
