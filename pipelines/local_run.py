"""Run the DAG on this machine with `kfp.local`: the embedded default, no cluster needed.

`SubprocessRunner(use_venv=False)` runs each lightweight component in a subprocess of this
Python environment, where `fracdet_core` is installed, exactly as the image runs it on a cluster.
The DAG is the one a cluster runs (exit handler included, which kfp.local 2.17 runs after the
other tasks with their final state); only the retries are off.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import json
import os
import re
import warnings
from collections.abc import Iterator

from kfp import local

from fracdet_core.errors import FracdetError
from fracdet_pipelines.cluster import ClusterOptions
from fracdet_pipelines.fracdet_pipeline import PIPELINE_NAME, create_pipeline

_ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
# Where each output is: kfp.local writes a task's output artifact to <root>/<run>/<task>/<output>.
TASK_OUTPUTS = {
    "dataset": ("ingest", "dataset"),
    "analysis": ("eda", "analysis"),
    "model": ("train", "model"),
    "evaluation": ("evaluate", "evaluation"),
    "outcome": ("record-outcome", "outcome"),
}


@contextlib.contextmanager
def print_restored() -> Iterator[None]:
    """Put the real `print` back after a kfp.local run.

    kfp.local indents each task's log by replacing `builtins.print` while the task runs and
    putting back the one it found. The iterations of a `ParallelFor` run at the same time, so one
    task can find another's indenting `print` and put that back: the process then indents every
    line it prints after the run (`fracdet pipeline run`'s summary, a caller's own output).
    """
    original = builtins.print
    try:
        yield
    finally:
        builtins.print = original


class LocalRunError(FracdetError):
    """A task of a local pipeline run failed; its log, printed above, says why."""


@dataclasses.dataclass(frozen=True)
class LocalRun:
    """Where a finished local run left its outputs.

    Attributes:
        folder: the run's folder under the pipeline root (one sub-folder per task).
        outputs: output name (TASK_OUTPUTS' keys) -> its local path.
        outcome: the exit handler's record: `outcome`, `run_id`, `pipeline_state`.
    """

    folder: str
    outputs: dict[str, str]
    outcome: dict


def run_locally(data_uri: str, pipeline_root: str, **parameters: object) -> LocalRun:
    """Run the whole pipeline locally.

    Args:
        data_uri: the dataset (data.yaml, or the folder holding one).
        pipeline_root: folder for every run's task outputs.
        parameters: the pipeline's other parameters (registry_uri, epochs, ...), by name.

    Raises:
        LocalRunError: a task failed (its log, printed above, shows why).
    """
    root = os.path.abspath(pipeline_root)
    before = _run_folders(root)
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=root)
    try:
        with print_restored(), warnings.catch_warnings():
            # kfp.local warns that the components name a non-Python base image (running them in
            # this environment, where fracdet_core is installed, is the intent) and that cluster
            # settings (display names, resources) do nothing here (they are meant for a cluster).
            warnings.filterwarnings("ignore", message="You may be attemp", category=RuntimeWarning)
            warnings.filterwarnings("ignore", message=".*have no effect in the current local runner", category=UserWarning)
            create_pipeline(ClusterOptions(task_retries=0))(data_uri=data_uri, **parameters)
    except RuntimeError as error:
        summary = _ANSI_COLOUR.sub("", str(error))
        raise LocalRunError(f"{summary} Its log above says why; outputs are under {pipeline_root}") from error
    new = sorted(_run_folders(root) - before)
    if len(new) != 1:
        raise LocalRunError(f"expected one new run folder under {root}, found {len(new)}: was another run writing there?")
    folder = os.path.join(root, new[0])
    outputs = {name: os.path.join(folder, task, output) for name, (task, output) in TASK_OUTPUTS.items()}
    with open(outputs["outcome"], encoding="utf-8") as stream:
        outcome = json.load(stream)
    return LocalRun(folder, outputs, outcome)


def _run_folders(root: str) -> set[str]:
    if not os.path.isdir(root):
        return set()
    return {name for name in os.listdir(root) if name.startswith(f"{PIPELINE_NAME}-")}


def registered_version(registry_uri: str, model_name: str, model_path: str) -> dict | None:
    """The registry version made from this run's model, or None when the register step did not run."""
    from fracdet_core.registry.versions import list_versions

    source = os.path.join(model_path, "saved_model")
    return next((item for item in list_versions(registry_uri, model_name) if item["source_model_uri"] == source), None)


def run_summary(run: LocalRun, registry_uri: str, model_name: str) -> str:
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
    version = registered_version(registry_uri, model_name, run.outputs["model"])
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
