"""Run the DAG on this machine with `kfp.local`: the embedded default, no cluster needed.

`SubprocessRunner(use_venv=False)` runs each lightweight component in a subprocess of this
Python environment, where `fracdet_core` is installed, exactly as the image runs it on a cluster.
"""

from __future__ import annotations

import json
import os
import re
import warnings

from kfp import local

from fracdet_core.errors import FracdetError
from pipelines.fracdet_pipeline import create_pipeline

_ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


class LocalRunError(FracdetError):
    """A task of a local pipeline run failed; its log, printed above, says why."""


def run_locally(data_uri: str, pipeline_root: str, **parameters: object) -> dict[str, str]:
    """Run the whole pipeline locally; returns where its outputs are (name -> local path).

    `parameters` are the pipeline's other parameters (shards, epochs, ...), by name.

    Raises:
        LocalRunError: a task failed; the task's log, printed above, shows why.
    """
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=os.path.abspath(pipeline_root))
    try:
        with warnings.catch_warnings():
            # kfp.local warns that the components name a non-Python base image (running them in
            # this environment, where fracdet_core is installed, is the intent) and that cluster
            # settings (display names, resources) do nothing here (they are meant for a cluster).
            warnings.filterwarnings("ignore", message="You may be attemp", category=RuntimeWarning)
            warnings.filterwarnings("ignore", message=".*have no effect in the current local runner", category=UserWarning)
            result = create_pipeline(task_retries=0)(data_uri=data_uri, **parameters)
    except RuntimeError as error:
        summary = _ANSI_COLOUR.sub("", str(error))
        raise LocalRunError(f"{summary} Its log above says why; outputs are under {pipeline_root}") from error
    return {name: artifact.path for name, artifact in result.outputs.items()}


def registered_version(registry_uri: str, model_name: str, model_path: str) -> dict | None:
    """The registry version made from this run's model, or None when the register step did not run."""
    from fracdet_core.registry.versions import list_versions

    source = os.path.join(model_path, "saved_model")
    return next((item for item in list_versions(registry_uri, model_name) if item["source_model_uri"] == source), None)


def run_summary(outputs: dict[str, str]) -> str:
    """What a person wants after a run: counts, class weights, training, metrics, blessing."""
    from fracdet_core.evaluate.summary import blessing_lines, metrics_table

    manifest = json.load(open(os.path.join(outputs["dataset"], "manifest.json")))
    weights = json.load(open(os.path.join(os.path.dirname(outputs["eda_report"]), "analysis", "class_weights.json")))
    training = json.load(open(os.path.join(outputs["model"], "train_summary.json")))
    evaluation = os.path.join(os.path.dirname(outputs["evaluation_report"]), "evaluation")
    metrics = json.load(open(os.path.join(evaluation, "metrics.json")))
    blessing = json.load(open(os.path.join(evaluation, "blessing.json")))
    totals = manifest["totals"]
    return "\n".join([
        f"ingested {totals['ingested']} of {totals['found']} files ({totals['quarantined']} quarantined)",
        "class weights: " + ", ".join(f"{name.removeprefix('XR_')} {weight:.2f}" for name, weight in weights.items()),
        f"training: {training['epochs_run']} epochs in {training['wall_time_s']:.0f} s, "
        f"{training['train_images_per_second']:.1f} images/s, best val loss {training['best_val_loss']:.4f}",
        metrics_table(metrics),
        blessing_lines(blessing["blessed"], blessing["reasons"]),
    ])
