"""`fracdet train-worker`: local worker processes given exactly what a TrainJob's or a TFJob's pods get,
training together; one lost mid-epoch, the other failing within a bound, and the pair restarted,
resuming from the chief's last epoch.

The TrainJob pods' JobSet host names resolve only in a cluster: `worker_launcher` builds their
TF_CONFIG with the real builder and maps each address, written here by hand from JobSet's naming,
to a local port.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import test_train_distribute as distribute
from local_ports import free_ports
from test_train import FRACDET

from fracdet import build_parser, main
from fracdet.train import _is_chief

one_shard_ingest = distribute.one_shard_ingest
LAUNCHER = str(Path(__file__).with_name("worker_launcher.py"))
JOBSET = "fracdet-train-x7k2p"


def _trainjob_pods(workers: int, scratch: Path) -> tuple[list[dict[str, str]], str]:
    """Each pod's environment, as fracdet's TrainingRuntime and the launcher set it, and the
    launcher's map from their JobSet addresses to free local ports."""
    inherited = {name: value for name, value in os.environ.items() if name != "TF_CONFIG"}
    environments = [{**inherited, "JOBSET_NAME": JOBSET, "REPLICATED_JOB_NAME": "node", "JOB_INDEX": "0",
                     "JOB_COMPLETION_INDEX": str(index), "FRACDET_WORKERS": str(workers), "FRACDET_WORKER_PORT": "2222",
                     "CUDA_VISIBLE_DEVICES": "-1", "TMPDIR": str(scratch)} for index in range(workers)]
    ports = free_ports(workers)
    local = {f"{JOBSET}-node-0-{index}.{JOBSET}:2222": f"localhost:{port}" for index, port in enumerate(ports)}
    return environments, json.dumps(local)


def _train_options(base: Path, out: Path, epochs: int, batch_size: int) -> list[str]:
    return ["--data", str(base / "ingest"), "--out", str(out), "--config", str(base / "tiny.yaml"), "--epochs", str(epochs),
            "--batch-size", str(batch_size)]


def _failure(texts: list[str]) -> str:
    return "\n\n".join(f"--- worker {index}:\n{text[-3000:]}" for index, text in enumerate(texts))


def test_train_worker_takes_the_options_of_train():
    (sub_commands,) = [action for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction)]
    commands = sub_commands.choices

    def options(command: str) -> list[tuple]:
        return [(action.option_strings, action.required, action.default, action.choices, action.help)
                for action in commands[command]._actions]

    assert options("train-worker") == options("train")


@pytest.mark.parametrize(
    ("environment", "message"),
    [({}, "fracdet train-worker: error: FRACDET_WORKERS is not set, nor is TF_CONFIG: a training worker needs TF_CONFIG "),
     ({"TF_CONFIG": '{"cluster": {"worker": ["a:1"]}}'},
      "fracdet train-worker: error: TF_CONFIG's 'task' must name a type in its cluster (worker), got None")],
)
def test_train_worker_without_a_cluster_is_an_error_naming_what_is_missing(monkeypatch, capsys, tmp_path, environment,
                                                                            message):
    for name in ("TF_CONFIG", "JOBSET_NAME", "REPLICATED_JOB_NAME", "JOB_INDEX", "JOB_COMPLETION_INDEX", "FRACDET_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert main(["train-worker", "--data", str(tmp_path / "ingest"), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.startswith(message)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_three_trainjob_pods_train_together_and_only_the_chief_writes(one_shard_ingest, tmp_path):
    out, scratch = tmp_path / "out", tmp_path / "tmp"
    scratch.mkdir()
    environments, local = _trainjob_pods(3, scratch)
    command = [sys.executable, LAUNCHER, local, "train-worker", *_train_options(one_shard_ingest, out, 1, 6)]
    logs = [tmp_path / f"worker{index}.log" for index in range(3)]
    with distribute.running([command] * 3, environments, logs) as workers:
        codes = [worker.wait(timeout=600) for worker in workers]
    texts = [log.read_text() for log in logs]
    assert codes == [0, 0, 0], _failure(texts)
    # Each took its own place in the cluster from JOB_COMPLETION_INDEX.
    assert [text.count(f"train-worker: worker {index} of ") for index, text in enumerate(texts)] == [1, 1, 1]
    distribute.assert_trained_together(texts, out, scratch, chief_pids={workers[0].pid}, epochs=1)


@pytest.mark.slow
def test_a_tfjobs_chief_and_worker_train_together_on_its_tf_config(one_shard_ingest, tmp_path):
    out, scratch = tmp_path / "out", tmp_path / "tmp"
    scratch.mkdir()
    chief_port, worker_port = free_ports(2)
    cluster = {"chief": [f"localhost:{chief_port}"], "worker": [f"localhost:{worker_port}"]}
    environments = [{**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": task, "index": 0}}),
                     "CUDA_VISIBLE_DEVICES": "-1", "TMPDIR": str(scratch)} for task in ("chief", "worker")]
    command = [FRACDET, "train-worker", *_train_options(one_shard_ingest, out, 1, 8)]
    logs = [tmp_path / f"{task}.log" for task in ("chief", "worker")]
    with distribute.running([command] * 2, environments, logs) as processes:
        codes = [process.wait(timeout=600) for process in processes]
    texts = [log.read_text() for log in logs]
    assert codes == [0, 0], _failure(texts)
    assert "train-worker: chief 0 of " in texts[0] and "train-worker: worker 0 of " in texts[1]
    distribute.assert_trained_together(texts, out, scratch, chief_pids={processes[0].pid}, epochs=1)


def _wait_for_line(log: Path, prefix: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(line.startswith(prefix) for line in log.read_text().splitlines()):
            return
        time.sleep(0.05)
    pytest.fail(f"no line {prefix!r} in {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")


def _epochs(log: str) -> list[int]:
    return [int(line.split("/")[0].split()[1]) for line in distribute.epoch_lines(log)]


# A survivor must fail within this of a peer's loss: the coordination service's heartbeat
# timeout (10 s by default) with room for a busy machine, not a hang.
SURVIVOR_EXIT_S = 90


def _exit_code_within(process: subprocess.Popen, timeout_s: float) -> int | None:
    """The process's exit code, or None if it is still running after `timeout_s`."""
    try:
        return process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return None


@pytest.mark.slow
def test_a_worker_lost_mid_epoch_fails_the_other_and_the_restarted_pair_resumes_from_the_chiefs_epoch(
        one_shard_ingest, tmp_path):
    epochs, out = 6, tmp_path / "out"
    first_scratch, second_scratch = tmp_path / "tmp1", tmp_path / "tmp2"
    first_scratch.mkdir()
    second_scratch.mkdir()

    # Two TrainJob pods; once the chief's backup holds epoch 1, the other worker is lost: frozen
    # first, so that nothing answers yet no connection is refused (a pod on a lost node), where
    # only the heartbeats can tell; SIGKILLed once the chief has failed, as the kubelet would.
    environments, local = _trainjob_pods(2, first_scratch)
    command = [sys.executable, LAUNCHER, local, "train-worker", *_train_options(one_shard_ingest, out, epochs, 8)]
    logs = [tmp_path / f"first{index}.log" for index in range(2)]
    with distribute.running([command] * 2, environments, logs) as workers:
        first_chief = workers[0].pid
        _wait_for_line(logs[0], f"epoch 1/{epochs}:", 300)  # the backup is written before the line
        workers[1].send_signal(signal.SIGSTOP)
        code = _exit_code_within(workers[0], SURVIVOR_EXIT_S)
        workers[1].send_signal(signal.SIGKILL)
        workers[1].wait()
    texts = [log.read_text() for log in logs]
    assert code not in (0, None), f"the chief's exit code {SURVIVOR_EXIT_S} s after the loss: {code}\n{_failure(texts)}"
    assert "stopped sending heartbeats" in texts[0], _failure(texts)
    finished = _epochs(texts[0])
    assert 1 <= finished[-1] < epochs, _failure(texts)
    assert (out / "backup").is_dir() and not (out / "model.keras").exists()

    # JobSet's failurePolicy recreates every pod: same names, same environment, fresh processes.
    environments, local = _trainjob_pods(2, second_scratch)
    command = [sys.executable, LAUNCHER, local, "train-worker", *_train_options(one_shard_ingest, out, epochs, 8)]
    logs = [tmp_path / f"second{index}.log" for index in range(2)]
    with distribute.running([command] * 2, environments, logs) as workers:
        codes = [worker.wait(timeout=600) for worker in workers]
    texts = [log.read_text() for log in logs]
    assert codes == [0, 0], _failure(texts)
    # Both went on from the chief's last finished epoch, not from epoch 1, and finished together.
    assert [_epochs(text) for text in texts] == [list(range(finished[-1] + 1, epochs + 1))] * 2
    distribute.assert_trained_together(texts, out, second_scratch, chief_pids={first_chief, workers[0].pid}, epochs=epochs)


@pytest.mark.parametrize(
    ("cluster", "task", "chief"),
    [({"worker": ["a:1", "b:1"]}, {"type": "worker", "index": 0}, True),
     ({"worker": ["a:1", "b:1"]}, {"type": "worker", "index": 1}, False),
     ({"chief": ["c:1"], "worker": ["a:1"]}, {"type": "chief", "index": 0}, True),
     ({"chief": ["c:1"], "worker": ["a:1"]}, {"type": "worker", "index": 0}, False)],
)
def test_only_the_chief_of_a_training_cluster_logs_to_mlflow(cluster, task, chief):
    assert _is_chief({"cluster": cluster, "task": task}) is chief
