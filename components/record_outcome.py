"""The exit handler's component, `record_outcome`: records whether the run was blessed, not blessed, or failed.

The records themselves (where they live, how the outcome is decided) are `run_records`'.
"""

from kfp import dsl
from kfp.dsl import Artifact, Output, PipelineTaskFinalStatus

from fracdet_components.image import FRACDET_IMAGE


@dsl.component(base_image=FRACDET_IMAGE, install_kfp_package=False)
def record_outcome(
    status: PipelineTaskFinalStatus,
    outcome: Output[Artifact],
    registry_uri: str,
    model_name: str = "fracdet",
    run_id: str = "",
) -> None:
    """Write the run's outcome to `<registry_uri>/<model_name>/runs/<run_id>/outcome.json` and to `outcome`.

    Runs after every other task, whether they succeeded or not (`dsl.ExitHandler`), so a run
    whose tasks failed still says so. `fracdet pipeline submit` reads the file to choose its
    exit code.

    Args:
        status: the final state of the tasks the exit handler guards (filled in by KFP).
        outcome: the same JSON: `outcome` ("blessed", "not_blessed" or "failed"), `pipeline_state`, `error`, `run_id`.
        registry_uri: the registry root; the evaluate task left this run's blessing there.
        model_name: the model's name in the registry.
        run_id: the pipeline run's ID.
    """
    import json

    from fracdet_components.artifacts import artifact_location
    from fracdet_components.run_records import write_outcome
    from fracdet_core import storage

    result = write_outcome(registry_uri, model_name, run_id, status.state, status.error_message)
    storage.write_text(artifact_location(outcome), json.dumps(result, indent=2) + "\n")
    outcome.metadata.update({"display_name": f"Run outcome: {result['outcome']}", "outcome": result["outcome"],
                             "pipeline_state": result["pipeline_state"], "run_id": run_id})
