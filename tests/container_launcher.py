"""The compiled pipeline's tasks run inside a container as KFP's launcher runs them, in DAG order.

For each task the KFP driver resolves its inputs from the compiled spec (the run's parameters, the
outputs of the tasks it depends on, runtime constants such as the run's ID), writes an executor input
naming where every output goes, and the launcher starts the executor's `command` and `args` with
`{{$}}` replaced by that JSON; the task writes its artifacts, and its output parameters and artifact
metadata to the executor output file, which its consumers' inputs are made from. This module does the
same, as kfp.local's orchestrator does (kfp/local/executor_input_utils.py, placeholder_utils.py,
orchestrator/orchestrator_utils.py), with the run's folders on the host mounted into the container.

It walks sub-DAGs (the exit handler's body, a `dsl.If` or `dsl.Else` branch), evaluates the branch
conditions the compiled pipeline holds and hands a sub-DAG's output artifacts on (a `dsl.OneOf`: the
one of the branch that ran); it has no retries, no caching and no parallel fan-out. A task that fails
stops the run with its own log, so the exit handler only ever sees its body succeed.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXECUTOR_OUTPUT = "executor_output.json"
BOOLEAN_CONDITION = re.compile(r"^inputs\.parameter_values\['([^']+)'\] == (true|false)$")
INTEGER_CONDITION = re.compile(r"^int\(inputs\.parameter_values\['([^']+)'\]\) == (-?[0-9]+)$")
SELF_REFERENCE = re.compile(r"\{\{\$\.inputs\.parameters\['([^']+)'\]\}\}")
# The launcher's whole executor input, the only placeholder the compiled executors use.
EXECUTOR_INPUT_PLACEHOLDER = "{{$}}"


class TaskFailedError(AssertionError):
    """A task exited non-zero inside the image; the message carries its own log."""


@dataclass
class TaskRun:
    """A finished task: its outputs as its consumers see them, and how long it took."""

    name: str
    image: str  # as the executor names it
    root: Path
    executor_output: dict
    parameters: dict[str, Any]
    artifacts: dict[str, list[dict]]
    seconds: float
    log: str


@dataclass
class DagRun:
    """A finished sub-DAG: its output artifacts as its consumers see them."""

    artifacts: dict[str, list[dict]]


@dataclass
class Scope:
    """One DAG's inputs, and the outputs of its tasks that have run."""

    parameters: dict[str, Any]
    artifacts: dict[str, list[dict]]
    tasks: dict[str, TaskRun | DagRun] = field(default_factory=dict)


# Runs one task's command inside its image: (image, argv) -> (exit status, log).
RunCommand = Callable[[str, Sequence[str]], tuple[int, str]]


class Launcher:
    """Runs a compiled pipeline (the first document of `fracdet pipeline compile`'s YAML)."""

    def __init__(self, spec: dict, run_folder: Path, run_command: RunCommand) -> None:
        self.spec = spec
        self.run_folder = run_folder
        self.run_command = run_command
        self.job_id = str(uuid.uuid4())
        self.job_name = run_folder.name
        self.finished: list[TaskRun] = []

    def run(self, arguments: dict[str, Any]) -> list[TaskRun]:
        """Every task that ran, in the order it ran."""
        root = self.spec["root"]
        parameters = {name: definition["defaultValue"] for name, definition in
                      root["inputDefinitions"]["parameters"].items() if "defaultValue" in definition}
        unknown = set(arguments) - set(root["inputDefinitions"]["parameters"])
        if unknown:
            raise ValueError(f"not parameters of the pipeline: {sorted(unknown)}")
        self._run_dag(root, Scope({**parameters, **arguments}, {}))
        return self.finished

    def _run_dag(self, component: dict, scope: Scope) -> None:
        for name in _in_dependency_order(component["dag"]["tasks"]):
            task = component["dag"]["tasks"][name]
            parameters = _with_references_resolved(
                {key: self._parameter(value, scope, name) for key, value in task["inputs"].get("parameters", {}).items()})
            artifacts = {key: _artifact(value, scope) for key, value in task["inputs"].get("artifacts", {}).items()}
            if not _triggered(task, parameters):
                continue
            child = self.spec["components"][task["componentRef"]["name"]]
            if "dag" in child:
                inner = Scope(parameters, artifacts)
                self._run_dag(child, inner)
                scope.tasks[name] = DagRun(_dag_outputs(child, inner))
            else:
                scope.tasks[name] = self._run_container(name, child, parameters, artifacts)

    def _parameter(self, source: dict, scope: Scope, task_name: str) -> object:
        """A task's input parameter, from where the compiled spec says it comes."""
        if "componentInputParameter" in source:
            return scope.parameters[source["componentInputParameter"]]
        if "taskOutputParameter" in source:
            output = source["taskOutputParameter"]
            return scope.tasks[output["producerTask"]].parameters[output["outputParameterKey"]]
        if "runtimeValue" in source:
            constant = source["runtimeValue"]["constant"]
            if not isinstance(constant, str):
                return constant
            return constant.replace("{{$.pipeline_job_uuid}}", self.job_id).replace("{{$.pipeline_task_name}}", task_name)
        if "taskFinalStatus" in source:  # as the backend fills PipelineTaskFinalStatus; a failure stopped the run
            producer = source["taskFinalStatus"]["producerTask"]
            return {"state": "SUCCEEDED", "pipelineJobResourceName": self.job_name, "pipelineTaskName": producer, "error": {}}
        raise ValueError(f"task {task_name}: an input the launcher here cannot resolve: {source}")

    def _run_container(self, name: str, component: dict, parameters: dict, artifacts: dict) -> TaskRun:
        executor = self.spec["deploymentSpec"]["executors"][component["executorLabel"]]["container"]
        task_root = self.run_folder / name
        executor_input = build_executor_input(component, parameters, artifacts, task_root)
        argv = resolve_placeholders([*executor["command"], *executor.get("args", [])], executor_input)
        started = time.monotonic()
        status, log = self.run_command(executor["image"], argv)
        if status != 0:
            raise TaskFailedError(f"task {name} exited {status} inside {executor['image']}; its log:\n{log}")
        finished = collect_outputs(name, executor["image"], executor_input, log, time.monotonic() - started)
        self.finished.append(finished)
        return finished


def build_executor_input(component: dict, parameters: dict, artifacts: dict, task_root: Path) -> dict:
    """The launcher's executor input: typed parameter values, input artifacts, where each output goes."""
    definitions = component.get("inputDefinitions", {}).get("parameters", {})
    values = {name: spec["defaultValue"] for name, spec in definitions.items() if "defaultValue" in spec}
    values.update(parameters)
    for name, spec in definitions.items():  # JSON has one number type; an integer input is passed as one
        if spec["parameterType"] == "NUMBER_INTEGER" and name in values:
            values[name] = int(values[name])
    outputs = component.get("outputDefinitions", {})
    return {
        "inputs": {"parameterValues": values, "artifacts": {name: {"artifacts": listed} for name, listed in artifacts.items()}},
        "outputs": {
            "parameters": {name: {"outputFile": str(task_root / name)} for name in outputs.get("parameters", {})},
            "artifacts": {name: {"artifacts": [{"name": name, "type": spec["artifactType"], "uri": str(task_root / name),
                                                "metadata": {}}]}
                          for name, spec in outputs.get("artifacts", {}).items()},
            "outputFile": str(task_root / EXECUTOR_OUTPUT),
        },
    }


def resolve_placeholders(argv: Sequence[str], executor_input: dict) -> list[str]:
    """`{{$}}` replaced by the executor input; any other placeholder is a spec this launcher does not know."""
    resolved = [word.replace(EXECUTOR_INPUT_PLACEHOLDER, json.dumps(executor_input)) for word in argv]
    unknown = [word for word in argv if "{{$" in word.replace(EXECUTOR_INPUT_PLACEHOLDER, "")]
    if unknown:
        raise ValueError(f"placeholders the launcher here does not resolve: {unknown}")
    return resolved


def collect_outputs(name: str, image: str, executor_input: dict, log: str, seconds: float) -> TaskRun:
    """The task's outputs as kfp.local reads them: its executor output, over what the executor input named."""
    task_root = Path(executor_input["outputs"]["outputFile"]).parent
    output_file = task_root / EXECUTOR_OUTPUT
    executor_output = json.loads(output_file.read_text()) if output_file.exists() else {}
    artifacts = {key: value["artifacts"] for key, value in executor_input["outputs"]["artifacts"].items()}
    artifacts.update({key: value["artifacts"] for key, value in executor_output.get("artifacts", {}).items()})
    parameters = dict(executor_output.get("parameterValues", {}))
    for key, value in executor_input["outputs"]["parameters"].items():  # written through dsl.OutputPath
        if key not in parameters and Path(value["outputFile"]).exists():
            parameters[key] = json.loads(Path(value["outputFile"]).read_text())
    return TaskRun(name, image, task_root, executor_output, parameters, artifacts, seconds, log)


def _with_references_resolved(parameters: dict) -> dict:
    """Inputs that name another input of the same task (`{{$.inputs.parameters['x']}}`: the compiler's
    accelerator inputs) filled in, as KFP's driver and kfp.local fill them; any other placeholder is refused."""
    def value_of(match: re.Match) -> str:
        value = parameters[match[1]]
        return value if isinstance(value, str) else json.dumps(value)

    resolved = {key: SELF_REFERENCE.sub(value_of, value) if isinstance(value, str) else value
                for key, value in parameters.items()}
    unresolved = {key: value for key, value in resolved.items() if isinstance(value, str) and "{{$" in value}
    if unresolved:
        raise ValueError(f"placeholders the launcher here does not resolve: {unresolved}")
    return resolved


def _artifact(source: dict, scope: Scope) -> list[dict]:
    if "taskOutputArtifact" in source:
        output = source["taskOutputArtifact"]
        return scope.tasks[output["producerTask"]].artifacts[output["outputArtifactKey"]]
    if "componentInputArtifact" in source:
        return scope.artifacts[source["componentInputArtifact"]]
    raise ValueError(f"an input artifact the launcher here cannot resolve: {source}")


def _dag_outputs(component: dict, scope: Scope) -> dict[str, list[dict]]:
    """A sub-DAG's output artifacts: each from the one of its selectors' tasks that ran (more than one: a `dsl.OneOf`)."""
    outputs = {}
    for name, output in component["dag"].get("outputs", {}).get("artifacts", {}).items():
        produced = [scope.tasks[selector["producerSubtask"]].artifacts[selector["outputArtifactKey"]]
                    for selector in output["artifactSelectors"] if selector["producerSubtask"] in scope.tasks]
        if len(produced) != 1:
            raise ValueError(f"output {name!r} of a sub-DAG: {len(produced)} of its tasks produced it, not one")
        outputs[name] = produced[0]
    return outputs


def _triggered(task: dict, parameters: dict) -> bool:
    """A `dsl.If` or `dsl.Else` branch's condition, in the forms the compiled pipeline uses."""
    condition = task.get("triggerPolicy", {}).get("condition")
    return True if condition is None else _holds(condition, parameters)


def _holds(condition: str, parameters: dict) -> bool:
    """A boolean or integer equality, or (a `dsl.Else`) the negation of one."""
    if condition.startswith("!(") and condition.endswith(")"):
        return not _holds(condition[2:-1], parameters)
    if match := BOOLEAN_CONDITION.match(condition):
        return parameters[match[1]] is (match[2] == "true")
    if match := INTEGER_CONDITION.match(condition):
        return int(parameters[match[1]]) == int(match[2])
    raise ValueError(f"a trigger condition the launcher here does not evaluate: {condition!r}")


def _in_dependency_order(tasks: dict[str, dict]) -> list[str]:
    """Task names, each after the tasks it depends on (ties by name, so runs are repeatable)."""
    ordered: list[str] = []
    waiting = dict(sorted(tasks.items()))
    while waiting:
        ready = [name for name, task in waiting.items() if set(task.get("dependentTasks", [])) <= set(ordered)]
        if not ready:
            raise ValueError(f"tasks that depend on each other: {sorted(waiting)}")
        ordered.extend(ready)
        for name in ready:
            del waiting[name]
    return ordered
