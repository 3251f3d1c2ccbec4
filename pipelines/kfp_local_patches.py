"""Every reliance of fracdet on kfp.local's internals, behind one entry point: `patched_kfp_local`.

kfp.local 2.17 runs a pipeline on this machine, but it has no per-task hook, no quiet switch and
one race, and it says things a local run of fracdet does not want said. A local run therefore
reaches into it; everything that does is here, written against kfp 2.17 (`KFP_VERSION`), so that
another kfp is refused at the entry with a message instead of failing somewhere inside a run.
The patches, each applied only within `patched_kfp_local` and undone after it:

1. Task reporting. kfp.local's orchestrator runs each task through
   `kfp.local.task_dispatcher.run_single_task_implementation`, which returns the task's outputs
   and status. That module attribute is wrapped, so each task is reported (`FinishedTask`) as it
   finishes: kfp.local calls nothing per task. The task's name is kfp.local's own
   (`executor_input_utils.get_local_task_resource_name`), which is also its output folder's.
2. Per-task logs. Around that function kfp.local logs "Executing task", the final status and the
   outputs through a root-logger handler it makes on `sys.stdout` for the task, and prints the
   task subprocess's output through `builtins.print`; the pipeline's start and end lines go to
   `sys.stdout` too. Unless verbose, `sys.stdout` is stood in for by a stream that files what each
   task's thread writes under that task (the iterations of a `ParallelFor` run in threads at the
   same time), so a quiet run shows a task's log only when it failed.
3. `builtins.print` put back. kfp.local indents a task's log by replacing `builtins.print` for
   the task and putting back the one it found (`logging_utils.indented_print`). Overlapping
   `ParallelFor` iterations can find each other's indenting `print` and put that back, which would
   indent every line the process prints after the run; the real one is restored on exit.
4. Two warnings silenced, by their text: that the components name a non-Python base image
   (running them in this environment, where `fracdet_core` is installed, is the intent), and that
   cluster settings (resources, accelerators) have no effect locally (they are meant for a cluster).
5. Colour codes. kfp.local colours task names and states in its messages
   (`logging_utils.Color`); `without_colour` strips them from a failure's message and a task's log.
6. `dsl.OneOf` of artifacts. A DAG output that is one of the artifacts of `dsl.If`/`dsl.Else`
   branches (the pipeline's train step) has one selector per branch, which
   `orchestrator.orchestrator_utils.OrchestratorUtils.get_dag_output_artifacts` refuses ("Expected
   1 artifact in ArtifactSelectorSpec. Got: 2"). It is replaced by one that takes the artifact of
   the one branch that produced it, the rule kfp.local already applies to a `dsl.OneOf` of
   parameters (`get_dag_output_parameters`); no branch or several is an error, as there.

On another kfp version, re-check each of these against its `kfp/local` before changing `KFP_VERSION`.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import inspect
import io
import re
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from typing import TextIO

import kfp
from kfp.local import executor_input_utils, status, task_dispatcher
from kfp.local.io import IOStore
from kfp.local.orchestrator.orchestrator_utils import OrchestratorUtils
from kfp.pipeline_spec import pipeline_spec_pb2

from fracdet_core.errors import FracdetError

KFP_VERSION = "2.17"  # the major.minor release whose kfp.local these patches were written for and tested with
PATCHES = (
    "task_dispatcher.run_single_task_implementation wrapped to report each finished task",
    "sys.stdout stood in for, to keep each task's log apart",
    "builtins.print put back after logging_utils.indented_print's race",
    "two kfp.local warnings silenced by their text",
    "logging_utils.Color's codes stripped from messages and logs",
    "OrchestratorUtils.get_dag_output_artifacts replaced to take a dsl.OneOf of artifacts",
)
_ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


class UnsupportedKfpError(FracdetError):
    """The installed kfp is not the release whose kfp.local internals the patches were written for."""


@dataclasses.dataclass(frozen=True)
class FinishedTask:
    """A task of a local run, as it finished.

    Attributes:
        name: the task's name, also its folder under the run's.
        succeeded: whether kfp.local reported it SUCCESS.
        seconds: its wall time.
        outputs: output name -> parameter value, or artifact with its metadata, as kfp.local read them back.
        log: what kfp.local and the task's process wrote for it, without colour codes; empty when
            verbose (it was shown as it came).
    """

    name: str
    succeeded: bool
    seconds: float
    outputs: dict[str, object]
    log: str


def check_kfp_version(found: str) -> None:
    """Refuse a kfp whose major.minor release is not `KFP_VERSION`.

    Args:
        found: the installed kfp's version, e.g. "2.17.3".

    Raises:
        UnsupportedKfpError: naming the version found, the one the patches were written for, and what to do.
    """
    if found.split(".")[:2] == KFP_VERSION.split("."):
        return
    raise UnsupportedKfpError(
        f"kfp {found} is installed, but fracdet's local runs patch kfp.local internals written for kfp {KFP_VERSION}.* "
        f"({'; '.join(PATCHES)}). Install kfp {KFP_VERSION}.* (requirements.lock pins it; `make install`), or re-check "
        f"each patch against kfp {found} as fracdet_pipelines/kfp_local_patches.py lists them and then update its KFP_VERSION."
    )


def without_colour(text: str) -> str:
    """`text` without the terminal colour codes kfp.local puts around task names and states."""
    return _ANSI_COLOUR.sub("", text)


@contextlib.contextmanager
def patched_kfp_local(
    report: Callable[[FinishedTask], None], *, verbose: bool, kfp_version: str = kfp.__version__,
) -> Iterator[None]:
    """Within: kfp.local runs pipelines with every patch of the module docstring; all are undone on exit.

    Unless `verbose`, nothing kfp.local or a task writes reaches `sys.stdout`: a task's output
    goes to its `FinishedTask.log`, the pipeline's start and end lines nowhere (a failed pipeline
    raises its message). `report` is called from the task's thread; write to the `sys.stdout` of
    before this context, which it stands in for.

    Args:
        report: called with each task as it finishes.
        verbose: let kfp.local's log of every task through as it runs.
        kfp_version: the installed kfp's version (a parameter so that its check can be tried).

    Raises:
        UnsupportedKfpError: `kfp_version` is not `KFP_VERSION`; nothing was patched.
    """
    check_kfp_version(kfp_version)
    with _print_restored(), warnings.catch_warnings(), _one_of_artifacts(), _reported_tasks(report, verbose=verbose):
        warnings.filterwarnings("ignore", message="You may be attemp", category=RuntimeWarning)
        warnings.filterwarnings("ignore", message=".*have no effect in the current local runner", category=UserWarning)
        yield


@contextlib.contextmanager
def _print_restored() -> Iterator[None]:
    """Put the real `print` back on exit (patch 3)."""
    original = builtins.print
    try:
        yield
    finally:
        builtins.print = original


@contextlib.contextmanager
def _one_of_artifacts() -> Iterator[None]:
    """Within: a DAG's artifact output may be a `dsl.OneOf` of its branches' artifacts (patch 6)."""
    original = vars(OrchestratorUtils)["get_dag_output_artifacts"]
    OrchestratorUtils.get_dag_output_artifacts = classmethod(_dag_output_artifacts)
    try:
        yield
    finally:
        OrchestratorUtils.get_dag_output_artifacts = original


def _dag_output_artifacts(
    cls: type[OrchestratorUtils], dag_outputs_spec: pipeline_spec_pb2.DagOutputsSpec, io_store: IOStore,
) -> dict[str, object]:
    """A DAG's output artifacts: each its one selector's, or, for a `dsl.OneOf`, the one branch's that produced it.

    Raises:
        ValueError: no branch, or more than one, produced a `dsl.OneOf` output; or a single
            selector's task has no such output (kfp.local's own message).
    """
    outputs = {}
    for name, selector_spec in dag_outputs_spec.artifacts.items():
        found = []
        for selector in selector_spec.artifact_selectors:
            try:
                found.append(io_store.get_task_output(selector.producer_subtask, selector.output_artifact_key))
            except ValueError:
                if len(selector_spec.artifact_selectors) == 1:
                    raise  # a plain output whose task has none: kfp.local's own message
                # Otherwise a branch that did not run.
        if len(found) != 1:
            raise ValueError(f"dsl.OneOf output {name!r}: expected exactly one of its branches to produce it, {len(found)} did")
        outputs[name] = found[0]
    return outputs


class _TaskRoutedStream(io.TextIOBase):
    """Stands in for `sys.stdout`: text from a thread that runs a task goes to that task's log, the rest to `other`."""

    def __init__(self, other: TextIO) -> None:
        super().__init__()
        self._other = other
        self._logs: dict[int, io.StringIO] = {}

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return self._logs.get(threading.get_ident(), self._other).write(text)

    @contextlib.contextmanager
    def task_log(self) -> Iterator[io.StringIO]:
        """Within: what this thread writes goes to the yielded log."""
        log = self._logs[threading.get_ident()] = io.StringIO()
        try:
            yield log
        finally:
            del self._logs[threading.get_ident()]


@contextlib.contextmanager
def _reported_tasks(report: Callable[[FinishedTask], None], *, verbose: bool) -> Iterator[None]:
    """Within: each task kfp.local runs is passed to `report` as it finishes (patches 1 and 2)."""
    original = task_dispatcher.run_single_task_implementation
    stream = None if verbose else _TaskRoutedStream(io.StringIO())
    task_dispatcher.run_single_task_implementation = _reporting(original, report, stream)
    try:
        with contextlib.redirect_stdout(stream) if stream else contextlib.nullcontext():
            yield
    finally:
        task_dispatcher.run_single_task_implementation = original


def _reporting(
    run_task: Callable[..., tuple[dict, status.Status]], report: Callable[[FinishedTask], None], stream: _TaskRoutedStream | None,
) -> Callable[..., tuple[dict, status.Status]]:
    """`run_task` (kfp.local's per-task function), reporting each task it runs; its log in `stream` when given."""
    signature = inspect.signature(run_task)

    def run_reported(*args: object, **kwargs: object) -> tuple[dict, status.Status]:
        component = signature.bind(*args, **kwargs).arguments["component_name"]
        name = executor_input_utils.get_local_task_resource_name(component)
        started = time.monotonic()
        with stream.task_log() if stream else contextlib.nullcontext(io.StringIO()) as log:
            try:
                outputs, task_status = run_task(*args, **kwargs)
            except Exception:  # kfp.local raised instead of reporting a failure: the log must still be seen
                report(FinishedTask(name, False, time.monotonic() - started, {}, without_colour(log.getvalue())))
                raise
        succeeded = task_status == status.Status.SUCCESS
        report(FinishedTask(name, succeeded, time.monotonic() - started, dict(outputs), without_colour(log.getvalue())))
        return outputs, task_status

    return run_reported
