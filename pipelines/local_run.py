"""Run the DAG on this machine with `kfp.local`: the embedded default, no cluster needed.

`SubprocessRunner(use_venv=False)` runs each lightweight component in a subprocess of this
Python environment, where `fracdet_core` is installed, exactly as the image runs it on a cluster.
"""

from __future__ import annotations

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
