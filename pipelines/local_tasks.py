"""Each task of a kfp.local run reported as it finishes, with its log kept apart from everyone else's.

How kfp.local 2.17 shows a task (`kfp/local/task_dispatcher.py`, `subprocess_task_handler.py`,
`logging_utils.py`): `task_dispatcher.run_single_task_implementation` logs "Executing task", the
final status and every output with its metadata through a root-logger handler it makes on
`sys.stdout` for the task; in between it prints the task subprocess's stdout and stderr (one pipe)
line by line through an indenting `builtins.print`, then a horizontal line. The pipeline's start
and end lines go to `sys.stdout` the same way. It has no per-task hook and no quiet switch, so
`reported_tasks` wraps that one function, which returns the task's outputs and status, and unless
verbose stands in for `sys.stdout` with a stream that files what each task's thread writes (the
iterations of a `ParallelFor` run in threads at the same time) under that task.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import io
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

from kfp.local import executor_input_utils, status, task_dispatcher


@dataclasses.dataclass(frozen=True)
class FinishedTask:
    """A task of a local run, as it finished.

    Attributes:
        name: the task's name, also its folder under the run's.
        succeeded: whether kfp.local reported it SUCCESS.
        seconds: its wall time.
        outputs: output name -> parameter value, or artifact with its metadata, as kfp.local read them back.
        log: what kfp.local and the task's process wrote for it; empty when verbose (it was shown as it came).
    """

    name: str
    succeeded: bool
    seconds: float
    outputs: dict[str, object]
    log: str


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
def reported_tasks(report: Callable[[FinishedTask], None], *, verbose: bool) -> Iterator[None]:
    """Within: each task kfp.local runs is passed to `report` as it finishes.

    Unless `verbose`, nothing kfp.local or a task writes reaches `sys.stdout`: a task's output
    goes to its `FinishedTask.log`, the pipeline's start and end lines nowhere (a failed pipeline
    raises its message). `report` is called from the task's thread; write to the `sys.stdout` of
    before this context, which it stands in for.
    """
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
                report(FinishedTask(name, False, time.monotonic() - started, {}, log.getvalue()))
                raise
        succeeded = task_status == status.Status.SUCCESS
        report(FinishedTask(name, succeeded, time.monotonic() - started, dict(outputs), log.getvalue()))
        return outputs, task_status

    return run_reported

