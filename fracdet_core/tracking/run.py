"""A pipeline run as one MLflow run, in an experiment named for the model.

One run, not a parent with a nested run per stage: the runs table and its compare view show a
run's own params and metrics, not its children's, so one run puts the training curves, the
configs and the evaluation's figures on one row, where a team compares candidates. The stages
that log (train, evaluate, register) run one after the other, each in its own process or pod, and
find the run by a tag:

- `fracdet.kfp_run_id`: the KFP run that the stage belongs to, when it runs in a pipeline;
- else `fracdet.model_sha256`: the model the stage trained or evaluated, so `fracdet evaluate`
  of a model trained by `fracdet train` logs into that training's run.

A run found by neither is created. Metric names carry the stage (`train/loss`, `eval/map50`) so
the two stages' figures never collide.
"""

from __future__ import annotations

import dataclasses

from fracdet_core.tracking.connection import MlflowServer

KFP_RUN_TAG = "fracdet.kfp_run_id"
KFP_RUN_URL_TAG = "fracdet.kfp_run_url"
MODEL_TAG = "fracdet.model_sha256"


@dataclasses.dataclass(frozen=True)
class RunKey:
    """How a stage finds its pipeline run's MLflow run.

    Attributes:
        experiment: the experiment's name: the model's name in the registry.
        kfp_run_id: the KFP run's ID, when the stage runs in a pipeline.
        kfp_run_url: the run's page on the Kubeflow dashboard, when known.
        model_sha256: the fingerprint of the model the stage trained or evaluated, when known.
    """

    experiment: str
    kfp_run_id: str | None = None
    kfp_run_url: str | None = None
    model_sha256: str | None = None

    def tags(self) -> dict[str, str]:
        found = {KFP_RUN_TAG: self.kfp_run_id, KFP_RUN_URL_TAG: self.kfp_run_url, MODEL_TAG: self.model_sha256}
        return {key: value for key, value in found.items() if value}


def experiment_id(server: MlflowServer, name: str) -> str:
    """The ID of the experiment `name`, created when missing (a concurrent creator's is taken)."""
    from mlflow.exceptions import MlflowException

    def find_or_create() -> str:
        found = server.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        try:
            return server.client.create_experiment(name)
        except MlflowException as error:
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            return server.client.get_experiment_by_name(name).experiment_id

    return server.call(f"find or create experiment {name!r}", find_or_create)


def find_run(server: MlflowServer, key: RunKey) -> str | None:
    """The ID of the run that `key` names (its KFP run, else its model), the newest when several; None when none."""
    experiment = experiment_id(server, key.experiment)
    tag, value = (KFP_RUN_TAG, key.kfp_run_id) if key.kfp_run_id else (MODEL_TAG, key.model_sha256)
    if not value:
        return None
    runs = server.call(f"search the runs of experiment {key.experiment!r}", lambda: server.client.search_runs(
        [experiment], filter_string=f"tags.`{tag}` = '{value}'", order_by=["attributes.start_time DESC"], max_results=1))
    return runs[0].info.run_id if runs else None


def open_run(server: MlflowServer, key: RunKey, run_name: str) -> str:
    """The run `key` names, created (with its tags, named `run_name`) when there is none; its ID."""
    found = find_run(server, key)
    if found is not None:
        missing = {tag: value for tag, value in key.tags().items() if tag != KFP_RUN_TAG}
        for tag, value in missing.items():
            server.call(f"tag run {found}", lambda tag=tag, value=value: server.client.set_tag(found, tag, value))
        return found
    experiment = experiment_id(server, key.experiment)
    run = server.call(f"create a run in experiment {key.experiment!r}", lambda: server.client.create_run(
        experiment, tags=key.tags(), run_name=run_name), repeatable=False, before_retry=lambda: find_run(server, key))
    return run if isinstance(run, str) else run.info.run_id


def set_run_tags(server: MlflowServer, key: RunKey, tags: dict[str, str], run_name: str) -> str:
    """Set `tags` on the run `key` names (created when there is none); its ID."""
    run_id = open_run(server, key, run_name)
    for tag, value in tags.items():
        server.call(f"tag run {run_id}", lambda tag=tag, value=value: server.client.set_tag(run_id, tag, value))
    return run_id


def run_tags(server: MlflowServer, key: RunKey) -> dict[str, str] | None:
    """The tags of the run `key` names; None when there is none."""
    run_id = find_run(server, key)
    if run_id is None:
        return None
    return dict(server.call(f"read run {run_id}", lambda: server.client.get_run(run_id)).data.tags)
