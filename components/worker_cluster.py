"""`TF_CONFIG` for a training worker pod, from what the engine that started it gives the pod.

A Training Operator `TFJob` sets `TF_CONFIG` in each pod (a `chief` task and `worker` tasks): it
is taken as it is, once checked. Kubeflow Trainer sets none (it has no TensorFlow runtime): on
fracdet's TrainingRuntime each pod is one index of an Indexed Job inside a JobSet, and knows its
JobSet, replicated job and job index from the downward API, its own index from
`JOB_COMPLETION_INDEX` (Kubernetes sets it), and the worker count from `FRACDET_WORKERS` (the
launcher sets it). JobSet names pod `i` `{jobset}-{replicated job}-{job index}-{i}` under the
subdomain `{jobset}`, which is all it takes to write every worker's address. The workers are all
`worker` tasks; worker 0 is the chief, as `fracdet_core.train.distribute` numbers them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from fracdet_core.errors import ConfigError

DEFAULT_WORKER_PORT = 2222
# A DNS label, as Kubernetes requires of JobSet and replicated job names: the addresses are built from them.
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_TRAINJOB_VARIABLES = ("JOBSET_NAME", "REPLICATED_JOB_NAME", "JOB_INDEX", "JOB_COMPLETION_INDEX", "FRACDET_WORKERS")


def tf_config_from_environment(environ: Mapping[str, str]) -> str:
    """This worker's `TF_CONFIG` JSON text: `environ`'s own when set, else built from the JobSet variables.

    Raises:
        ConfigError: `TF_CONFIG` is not a cluster with this task in it; or, without it, a JobSet
            variable is missing or bad (named in the message).
    """
    given = environ.get("TF_CONFIG", "")
    if given.strip():
        _check_tf_config(given)
        return given
    workers = _integer(environ, "FRACDET_WORKERS", minimum=1)
    index = _integer(environ, "JOB_COMPLETION_INDEX", minimum=0)
    if index >= workers:
        raise ConfigError(f"JOB_COMPLETION_INDEX {index} is out of range for FRACDET_WORKERS={workers} (0 to {workers - 1})")
    jobset, replicated_job = _dns_label(environ, "JOBSET_NAME"), _dns_label(environ, "REPLICATED_JOB_NAME")
    job_index = _integer(environ, "JOB_INDEX", minimum=0)
    port = _integer(environ, "FRACDET_WORKER_PORT", minimum=1, maximum=65535, default=DEFAULT_WORKER_PORT)
    addresses = [f"{jobset}-{replicated_job}-{job_index}-{worker}.{jobset}:{port}" for worker in range(workers)]
    return json.dumps({"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}})


def _value(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set, nor is TF_CONFIG: a training worker needs TF_CONFIG (a TFJob sets it) or "
                          f"the TrainJob runtime's {', '.join(_TRAINJOB_VARIABLES)}")
    return value


def _integer(environ: Mapping[str, str], name: str, *, minimum: int, maximum: int | None = None,
             default: int | None = None) -> int:
    if default is not None and not environ.get(name, "").strip():
        return default
    text = _value(environ, name)
    try:
        number = int(text)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {text!r}") from None
    if number < minimum or (maximum is not None and number > maximum):
        allowed = f"from {minimum} to {maximum}" if maximum is not None else f"{minimum} or more"
        raise ConfigError(f"{name} must be {allowed}, got {number}")
    return number


def _dns_label(environ: Mapping[str, str], name: str) -> str:
    text = _value(environ, name)
    if not _DNS_LABEL.fullmatch(text):
        raise ConfigError(f"{name} must be a DNS label (lower-case letters, digits and '-'), got {text!r}")
    return text


def _check_tf_config(text: str) -> None:
    """A JSON object with a `cluster` of task lists and a `task` whose type and index are in it."""
    try:
        content = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"TF_CONFIG is not JSON: {error}") from None
    if not isinstance(content, dict):
        raise ConfigError(f"TF_CONFIG must be a JSON object with 'cluster' and 'task', got {type(content).__name__}")
    cluster, task = content.get("cluster"), content.get("task")
    if not isinstance(cluster, dict) or not cluster or not all(
            isinstance(tasks, list) and tasks and all(isinstance(address, str) for address in tasks)
            for tasks in cluster.values()):
        raise ConfigError(f"TF_CONFIG's 'cluster' must map each task type to a list of addresses, got {cluster!r}")
    if not isinstance(task, dict) or task.get("type") not in cluster:
        raise ConfigError(f"TF_CONFIG's 'task' must name a type in its cluster ({', '.join(cluster)}), got {task!r}")
    index, count = task.get("index"), len(cluster[task["type"]])
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < count:
        raise ConfigError(f"TF_CONFIG's task index must be 0 to {count - 1} for its {count} {task['type']} tasks, "
                          f"got {index!r}")
