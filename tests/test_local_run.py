"""Local runs: one line per task, a task's log only when it failed or when asked; kfp.local's side effect on `print`;
a `dsl.OneOf` of artifacts; the patches refusing a kfp they were not written for.

The whole DAG's local runs are in test_pipeline.py (which counts the lines of a real run) and
test_ingest_fanout.py; here tiny pipelines of two-line components run through kfp.local for real.
"""

# No `from __future__ import annotations` here: kfp reads the components' annotations as types.
import builtins
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from kfp import dsl, local
from kfp.dsl import Artifact, Input, Output
from kfp.local import logging_utils, task_dispatcher
from kfp.local.io import IOStore
from kfp.local.orchestrator.orchestrator_utils import OrchestratorUtils
from kfp.pipeline_spec import pipeline_spec_pb2

from fracdet_pipelines.kfp_local_patches import FinishedTask, UnsupportedKfpError, check_kfp_version, patched_kfp_local
from fracdet_pipelines.task_lines import task_line, task_printer

FRACDET = str(Path(sys.executable).with_name("fracdet"))


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def say(text: str) -> str:
    print(f"said: {text}")
    return text


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def refuse(text: str) -> None:
    raise ValueError(f"refused: {text}")


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def write(text: str, written: Output[Artifact]) -> None:
    with open(written.path, "w", encoding="utf-8") as stream:
        stream.write(text)


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def read(written: Input[Artifact]) -> str:
    with open(written.path, encoding="utf-8") as stream:
        return stream.read()


@dsl.pipeline(name="talk")
def talk(text: str) -> None:
    say(text=say(text=text).output)


@dsl.pipeline(name="talk-then-refuse")
def talk_then_refuse(text: str) -> None:
    refuse(text=say(text=text).output)


@dsl.pipeline(name="one-of")
def one_of(workers: int) -> None:
    """The shape of fracdet's train step: a branch by a count, and the artifact of the branch that ran read on."""
    with dsl.If(workers == 1, name="one"):
        single = write(text="one task")
    with dsl.Else(name="several"):
        several = write(text="several workers")
    read(written=dsl.OneOf(single.outputs["written"], several.outputs["written"]))


def _run(pipeline, root: Path, verbose: bool) -> list[FinishedTask]:
    """Run `pipeline` with kfp.local, each finished task printed and returned; a failed pipeline's error propagates."""
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    finished: list[FinishedTask] = []
    printer = task_printer(sys.stdout)

    def report(task: FinishedTask) -> None:
        finished.append(task)
        printer(task)

    with patched_kfp_local(report, verbose=verbose):
        pipeline(text="hello")
    return finished


def test_a_quiet_run_prints_one_line_per_task_and_keeps_each_tasks_log_apart(tmp_path, capsys):
    stdout, function = sys.stdout, task_dispatcher.run_single_task_implementation
    finished = _run(talk, tmp_path, verbose=False)
    out = capsys.readouterr().out
    assert out.splitlines() == [task_line(task) for task in finished]
    assert [(task.name, task.succeeded, task.outputs["Output"]) for task in finished] == [
        ("say", True, "hello"), ("say-2", True, "hello")]
    assert "said: hello" in finished[0].log and "Executing task" in finished[0].log  # kept, not shown
    assert sys.stdout is stdout and task_dispatcher.run_single_task_implementation is function  # all put back


def test_a_failed_tasks_log_is_shown_after_its_line(tmp_path, capsys):
    with pytest.raises(RuntimeError, match="Inner task failed"):
        _run(talk_then_refuse, tmp_path, verbose=False)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("say ") and " succeeded " in lines[0]
    assert lines[1].startswith("refuse ") and lines[1].split()[1] == "FAILED"
    log = "\n".join(lines[2:])
    assert "ValueError: refused: hello" in log and "Task 'refuse' finished with status FAILURE" in log  # its own log, colourless
    assert "\x1b[" not in log
    assert "said: hello" not in log  # the task that succeeded stays quiet


def test_verbose_shows_kfp_locals_log_of_every_task_as_it_runs(tmp_path, capsys):
    finished = _run(talk, tmp_path, verbose=True)
    out = capsys.readouterr().out
    assert out.count("said: hello") == 2 and out.count("Got executor_input") == 2
    assert all(task_line(task) in out.splitlines() for task in finished) and all(task.log == "" for task in finished)


@pytest.mark.parametrize("verbose", [False, True])
@pytest.mark.slow
def test_a_failed_local_run_shows_the_failed_tasks_log_and_with_verbose_every_tasks(tmp_path, verbose):
    command = [FRACDET, "pipeline", "run", "--data_uri", str(tmp_path / "missing"), "--registry_uri", str(tmp_path / "registry"),
               "--root", str(tmp_path / "runs"), *(["--verbose"] if verbose else [])]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    (failed,) = (index for index, line in enumerate(lines) if line.startswith("fingerprint "))
    assert lines[failed].split()[1] == "FAILED" and (failed == 0) is not verbose
    assert "no data.yaml here" in result.stdout  # the failed task's own log
    record_outcome_log = "Looking for component `record_outcome`"  # what the exit handler's process prints first
    assert (record_outcome_log in result.stdout) is verbose
    assert any(line.startswith("record-outcome ") and "outcome failed" in line for line in lines)


def test_overlapping_task_logs_leave_kfp_locals_indenting_print_behind_and_the_patches_restore_it():
    """Two tasks of a ParallelFor, as kfp.local's dispatcher runs them: each inside `indented_print`, overlapping."""
    real_print = builtins.print
    first_inside, second_inside, first_done = threading.Event(), threading.Event(), threading.Event()

    def first_task() -> None:
        with logging_utils.indented_print():
            first_inside.set()
            second_inside.wait(5)
        first_done.set()

    def second_task() -> None:
        first_inside.wait(5)
        with logging_utils.indented_print():  # finds the first task's indenting print, and puts it back last
            second_inside.set()
            first_done.wait(5)

    with patched_kfp_local(lambda task: None, verbose=True):
        threads = [threading.Thread(target=first_task), threading.Thread(target=second_task)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        leaked = builtins.print
    assert leaked is not real_print  # kfp.local's race, reproduced
    assert builtins.print is real_print


@pytest.mark.parametrize(("workers", "written", "read_text"), [(1, "write", "one task"), (3, "write-2", "several workers")])
def test_a_oneof_of_artifacts_is_the_one_of_the_branch_that_ran(tmp_path, workers, written, read_text):
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path))
    finished: list[FinishedTask] = []
    with patched_kfp_local(finished.append, verbose=False):
        one_of(workers=workers)
    assert [(task.name, task.succeeded) for task in finished] == [(written, True), ("read", True)]
    assert finished[1].outputs["Output"] == read_text


def test_kfp_local_alone_refuses_a_oneof_of_artifacts_and_the_patch_is_undone(tmp_path):
    """kfp.local 2.17's own refusal: when a kfp takes a `dsl.OneOf` of artifacts, patch 6 can go."""
    original = vars(OrchestratorUtils)["get_dag_output_artifacts"]
    with patched_kfp_local(lambda task: None, verbose=False):
        assert vars(OrchestratorUtils)["get_dag_output_artifacts"] is not original
    assert vars(OrchestratorUtils)["get_dag_output_artifacts"] is original
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path))
    with pytest.raises(ValueError, match=r"Expected 1 artifact in ArtifactSelectorSpec\. Got: 2"):
        one_of(workers=1)


def test_a_oneof_that_no_branch_or_several_produced_is_refused():
    """What kfp.local requires of a `dsl.OneOf` of parameters: exactly one branch produced it."""
    outputs = pipeline_spec_pb2.DagOutputsSpec()
    selectors = outputs.artifacts["model"].artifact_selectors
    selectors.add(producer_subtask="condition-3", output_artifact_key="trained")
    selectors.add(producer_subtask="condition-4", output_artifact_key="trained")
    outputs.artifacts["report"].artifact_selectors.add(producer_subtask="evaluate", output_artifact_key="report")
    store = IOStore()
    store.put_task_output("evaluate", "report", "the report")
    with patched_kfp_local(lambda task: None, verbose=False):
        with pytest.raises(ValueError, match=r"OneOf output 'model': expected exactly one of its branches to produce it, 0 did"):
            OrchestratorUtils.get_dag_outputs(outputs, store)
        store.put_task_output("condition-4", "trained", "several workers' model")
        assert OrchestratorUtils.get_dag_outputs(outputs, store) == {"model": "several workers' model", "report": "the report"}
        store.put_task_output("condition-3", "trained", "one task's model")
        with pytest.raises(ValueError, match="2 did"):
            OrchestratorUtils.get_dag_outputs(outputs, store)
        del outputs.artifacts["model"]
        outputs.artifacts["report"].artifact_selectors[0].output_artifact_key = "missing"
        with pytest.raises(ValueError, match="task 'evaluate' has no output named 'missing'"):  # kfp.local's own message
            OrchestratorUtils.get_dag_outputs(outputs, store)


@pytest.mark.parametrize("version", ["2.17.0", "2.17.3", "2.17.4rc1"])
def test_the_patches_take_any_release_of_the_kfp_they_were_written_for(version):
    check_kfp_version(version)


@pytest.mark.parametrize("version", ["2.18.0", "2.16.1", "3.0.0", "2.170.0"])
def test_another_kfp_is_refused_before_anything_is_patched(version):
    function, stdout, real_print = task_dispatcher.run_single_task_implementation, sys.stdout, builtins.print
    with pytest.raises(UnsupportedKfpError) as refused, patched_kfp_local(lambda task: None, verbose=False, kfp_version=version):
        pytest.fail("the body ran under patches written for another kfp")
    message = str(refused.value)
    assert message.startswith(f"kfp {version} is installed, but fracdet's local runs patch kfp.local internals written for "
                              "kfp 2.17.* (task_dispatcher.run_single_task_implementation wrapped")
    assert "Install kfp 2.17.* (requirements.lock pins it" in message
    assert f"re-check each patch against kfp {version} as fracdet_pipelines/kfp_local_patches.py lists them" in message
    assert (task_dispatcher.run_single_task_implementation, sys.stdout, builtins.print) == (function, stdout, real_print)


def test_the_installed_kfp_is_the_one_the_patches_were_written_for():
    """requirements.lock pins the kfp the patches were written for; a local run would refuse any other."""
    import kfp

    check_kfp_version(kfp.__version__)
