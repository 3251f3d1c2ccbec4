"""What the DAG factories give each task and each pipeline function, stated once.

A pipeline module keeps one `TaskSettings` per task beside its wiring, and wraps every task it
wires in `configured`, which adds what all tasks get on a cluster: retries and GCS credentials.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

from kfp import dsl

from fracdet_pipelines.cluster import ClusterConfig, give_gcs_credentials

RETRY_BACKOFF = "30s"  # the first retry's wait, doubled for each retry after it
RETRY_BACKOFF_FACTOR = 2.0


@dataclasses.dataclass(frozen=True)
class TaskSettings:
    """What the dashboard shows of a task and what the cluster gives it.

    Attributes:
        display_name: the task's name in the dashboard.
        cache: reuse an earlier run's outputs when the component and its inputs are the same; on
            only where those inputs capture everything the outputs depend on.
        cpu, memory: the pod's Kubernetes requests, e.g. "2" and "4G".
    """

    display_name: str
    cache: bool
    cpu: str
    memory: str


def configured(task: dsl.PipelineTask, settings: TaskSettings, cluster: ClusterConfig) -> dsl.PipelineTask:
    """`task` with its settings, and the retries and GCS credentials of `cluster`; returns `task`.

    Every task may be retried: training resumes from its last epoch, registering the same model
    again returns its version, and the rest rewrite their outputs whole.
    """
    task.set_display_name(settings.display_name)
    task.set_caching_options(enable_caching=settings.cache)
    task.set_cpu_request(settings.cpu).set_memory_request(settings.memory)
    give_gcs_credentials(task, cluster)
    if cluster.task_retries:
        task.set_retry(num_retries=cluster.task_retries, backoff_duration=RETRY_BACKOFF, backoff_factor=RETRY_BACKOFF_FACTOR)
    return task


def pipeline_function(wiring: Callable[..., object], *compiled_in: object) -> Callable[..., object]:
    """`wiring` with its leading, positional-only compile-time arguments bound, for `dsl.pipeline`.

    KFP reads the run parameters from the function's signature, where `functools.partial` leaves
    out the bound arguments, and their descriptions from its docstring, which a partial lacks
    until it is given the wiring's.
    """
    bound = functools.partial(wiring, *compiled_in)
    bound.__doc__ = wiring.__doc__
    return bound
