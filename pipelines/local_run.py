"""Run the DAG on this machine with `kfp.local`: the embedded default, no cluster needed.

`SubprocessRunner(use_venv=False)` runs each lightweight component in a subprocess of this
Python environment, where `fracdet_core` is installed, exactly as the image runs it on a cluster.
The DAG is the one a cluster runs (exit handler included, which kfp.local 2.17 runs after the
other tasks with their final state); only the retries are off, and a run of several training
workers, which needs a cluster's job, is refused before anything runs. A run prints one line per task
as it finishes (`task_lines`); kfp.local's own log of every task shows only when asked for, or
for a task that failed. What that takes of kfp.local's internals is `kfp_local_patches`'.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
from collections.abc import Mapping

from kfp import local
from kfp.dsl import graph_component

from fracdet_core.errors import ConfigError, FracdetError
from fracdet_pipelines.cluster import ClusterConfig
from fracdet_pipelines.fracdet_pipeline import PIPELINE_NAME, create_pipeline
from fracdet_pipelines.kfp_local_patches import patched_kfp_local, without_colour
from fracdet_pipelines.parameters import check_values, defined_parameters
from fracdet_pipelines.task_lines import task_printer

# Where each output is: kfp.local writes a task's output artifact to <root>/<run>/<task>/<output>.
TASK_OUTPUTS = {
    "dataset": ("ingest", "dataset"),
    "analysis": ("eda", "analysis"),
    "model": ("train", "model"),
    "evaluation": ("evaluate", "evaluation"),
    "outcome": ("record-outcome", "outcome"),
}


class LocalRunError(FracdetError):
    """A task of a local pipeline run failed; its log, printed above, says why."""


@dataclasses.dataclass(frozen=True)
class LocalRun:
    """Where a finished local run left its outputs.

    Attributes:
        folder: the run's folder under the pipeline root (one sub-folder per task).
        outputs: output name (TASK_OUTPUTS' keys) -> its local path.
        outcome: the exit handler's record: `outcome`, `run_id`, `pipeline_state`.
        arguments: every pipeline parameter's value in this run, defaults included.
    """

    folder: str
    outputs: dict[str, str]
    outcome: dict
    arguments: dict[str, object]


@functools.cache
def local_pipeline() -> graph_component.GraphComponent:
    """The DAG a local run runs: the cluster's, without retries (a local failure is an input error; a retry only delays it)."""
    return create_pipeline(ClusterConfig(task_retries=0))


def run_locally(pipeline_root: str, arguments: Mapping[str, object], *, verbose: bool = False) -> LocalRun:
    """Run the whole pipeline locally, printing one line per task as it finishes.

    Args:
        pipeline_root: folder for every run's task outputs.
        arguments: pipeline parameter -> value (the pipeline's defaults fill the rest). Local
            paths in `*_uri` parameters are made absolute: tasks record the URIs they are given
            (the registry keeps them in its versions' metadata), and a relative path means
            nothing from another folder.
        verbose: show kfp.local's log of every task as it runs; otherwise only a failed task's log shows.

    Raises:
        ConfigError: an argument the pipeline cannot use, or more than one training worker; nothing ran.
        LocalRunError: a task failed (its log, printed above, shows why).
        UnsupportedKfpError: the installed kfp is not the release kfp.local's patches were written for.
    """
    root = os.path.abspath(pipeline_root)
    before = _run_folders(root)
    complete = _with_defaults({name: _absolute_if_local(name, value) for name, value in arguments.items()})
    _check_runs_here(complete)
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=root)
    try:
        _run_pipeline(complete, verbose)
    except RuntimeError as error:
        raise LocalRunError(f"{without_colour(str(error))} Its log above says why; outputs are under {pipeline_root}") from error
    new = sorted(_run_folders(root) - before)
    if len(new) != 1:
        raise LocalRunError(f"expected one new run folder under {root}, found {len(new)}: was another run writing there?")
    folder = os.path.join(root, new[0])
    outputs = {name: os.path.join(folder, task, output) for name, (task, output) in TASK_OUTPUTS.items()}
    with open(outputs["outcome"], encoding="utf-8") as stream:
        outcome = json.load(stream)
    return LocalRun(folder, outputs, outcome, complete)


def _run_pipeline(arguments: Mapping[str, object], verbose: bool) -> None:
    """Run the pipeline with kfp.local, its tasks reported one line each on this process's stdout."""
    with patched_kfp_local(task_printer(sys.stdout), verbose=verbose):
        local_pipeline()(**arguments)


def _check_runs_here(arguments: Mapping[str, object]) -> None:
    """Refuse, before anything runs, what no local run can do: train on several machines needs a cluster's job."""
    check_values(arguments)
    workers = arguments["train_workers"]
    if workers != 1:
        raise ConfigError(f"train_workers={workers}: a local run trains in one task, since kfp.local has no cluster to start "
                          f"a job of {workers} workers on; run with train_workers=1 here, or submit the run to a cluster "
                          "(`fracdet pipeline submit`)")


def _with_defaults(arguments: Mapping[str, object]) -> dict[str, object]:
    parameters = defined_parameters(local_pipeline())
    defaults = {name: spec["defaultValue"] for name, spec in parameters.items() if "defaultValue" in spec}
    return {**defaults, **arguments}


def _absolute_if_local(name: str, value: object) -> object:
    if name.endswith("_uri") and isinstance(value, str) and value and "://" not in value:
        return os.path.abspath(value)
    return value


def _run_folders(root: str) -> set[str]:
    if not os.path.isdir(root):
        return set()
    return {name for name in os.listdir(root) if name.startswith(f"{PIPELINE_NAME}-")}


def registered_version(registry_uri: str, model_name: str, model_path: str) -> dict | None:
    """The registry version made from this run's model, or None when the register step did not run."""
    from fracdet_core.registry.backend import open_registry

    source = os.path.join(model_path, "saved_model")
    versions = open_registry(registry_uri).list_versions(model_name)
    return next((item for item in versions if item["source_model_uri"] == source), None)


def run_summary(run: LocalRun) -> str:
    """What a person wants after a run: counts, class weights, training, metrics, blessing, version, reports."""
    from fracdet_core.evaluate.summary import blessing_lines, metrics_table

    def read(name: str, *parts: str) -> dict:
        with open(os.path.join(run.outputs[name], *parts), encoding="utf-8") as stream:
            return json.load(stream)

    totals = read("dataset", "manifest.json")["totals"]
    weights = read("analysis", "class_weights.json")
    training = read("model", "train_summary.json")
    metrics = read("evaluation", "metrics.json")
    blessing = read("evaluation", "blessing.json")
    version = registered_version(str(run.arguments["registry_uri"]), str(run.arguments["model_name"]), run.outputs["model"])
    return "\n".join([
        f"ingested {totals['ingested']} of {totals['found']} files ({totals['quarantined']} quarantined)",
        "class weights: " + ", ".join(f"{name.removeprefix('XR_')} {weight:.2f}" for name, weight in weights.items()),
        f"training: {training['epochs_run']} epochs in {training['wall_time_s']:.0f} s, "
        f"{training['train_images_per_second']:.1f} images/s, best val loss {training['best_val_loss']:.4f}",
        metrics_table(metrics),
        blessing_lines(blessing["blessed"], blessing["reasons"]),
        f"registered version: {version['version']} ({version['uri']})" if version else "registered version: none (not blessed)",
        f"run outcome: {run.outcome['outcome']} (run {run.outcome['run_id']})",
        f"EDA report: {os.path.join(run.outputs['analysis'], 'report.html')}",
        f"evaluation report: {os.path.join(run.outputs['evaluation'], 'report.html')}",
    ])
