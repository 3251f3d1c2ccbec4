"""The register component: a blessed model becomes the registry's next immutable version."""

from kfp import dsl
from kfp.dsl import Artifact, Input, Model, Output

from fracdet_components.image import FRACDET_IMAGE


@dsl.component(base_image=FRACDET_IMAGE, install_kfp_package=False)
def register(
    model: Input[Model],
    evaluation: Input[Artifact],
    operating_thresholds: Input[Artifact],
    analysis: Input[Artifact],
    registered: Output[Model],
    registry_uri: str,
    model_name: str = "fracdet",
    promote: bool = False,
    run_id: str = "",
    task_name: str = "",
) -> int:
    """Register the model with its evaluation, operating thresholds, lineage and model card; optionally make it the champion.

    Args:
        model: the train output.
        evaluation: the evaluate output (metrics.json, blessing.json, report.html).
        operating_thresholds: the evaluate task's operating_thresholds.json, kept with the version: the
            thresholds `fracdet predict` and serving clients call with.
        analysis: the EDA output, summarised in the model card.
        registered: points at the registered version's folder (its URI and metadata), so the
            dashboard's lineage reaches the registry.
        registry_uri: the registry root, local or gs://.
        model_name: the model's name in the registry.
        promote: make the new version the champion.
        run_id, task_name: the pipeline run and task, recorded in the version's metadata.

    Returns:
        The version number (an existing one when a retried task registers the same model again).
    """
    from fracdet_components.artifacts import run_register_component

    return run_register_component(model, evaluation, operating_thresholds, analysis, registered, registry_uri=registry_uri,
                                  model_name=model_name, promote=promote, run={"run_id": run_id, "task": task_name})
