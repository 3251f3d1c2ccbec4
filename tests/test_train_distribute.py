"""Training on several workers: own shares of the data, resuming from the chief's backup, and two real
workers training together on CPU, where only the chief writes."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from local_ports import free_ports
from test_train import FRACDET, TINY_MODEL

from fracdet_core.data.reader import load_examples
from fracdet_core.ingest import IngestConfig, ingest_dataset
from fracdet_core.model.indications import DETECTIONS
from fracdet_core.model.loss import DetectionLoss
from fracdet_core.synth import SynthConfig, generate_dataset
from fracdet_core.train.config import load_configs
from fracdet_core.train.dataset import training_dataset
from fracdet_core.train.distribute import BackupAndRestoreFrom
from fracdet_core.train.validation import calibration_source_ids

CHIEF_OUTPUTS = {"checkpoints", "logs", "model.keras", "model_config.json", "saved_model", "train_summary.json"}


@contextlib.contextmanager
def running(commands: list[list[str]], environments: list[dict[str, str]],
            logs: list[Path]) -> Iterator[list[subprocess.Popen]]:
    """One process per command, each with its environment, its output into its log; those still
    running on leaving are killed."""
    processes = []
    try:
        for command, environment, log in zip(commands, environments, logs, strict=True):
            with log.open("w") as sink:
                processes.append(subprocess.Popen(command, env=environment, stdout=sink, stderr=subprocess.STDOUT))
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def epoch_lines(log: str) -> list[str]:
    """A worker's progress lines, up to their losses: `epoch 3/6: loss 1.2345, val_loss 1.3456`."""
    return [line.split(";")[0] for line in log.splitlines() if line.startswith("epoch ")]


def assert_trained_together(logs: list[str], out: Path, scratch: Path, *, chief_pids: set[int], epochs: int) -> None:
    """The workers whose `logs` are given trained in step to `epochs`, and only the chief (its
    processes `chief_pids`, one per start) wrote to `out`: every other worker's scratch folder under `scratch` is gone."""
    # In step: all logged the same all-reduced losses.
    losses = [epoch_lines(log) for log in logs]
    assert all(mine == losses[0] for mine in losses) and losses[0][-1].startswith(f"epoch {epochs}/{epochs}: loss ")
    assert {path.name for path in out.iterdir()} == CHIEF_OUTPUTS  # the backup removed too
    events = list((out / "logs").rglob("events.out.tfevents.*"))
    assert events and {int(path.name.split(".")[-3]) for path in events} == chief_pids
    assert list(scratch.iterdir()) == []
    summary = json.loads((out / "train_summary.json").read_text())
    assert (summary["workers"], summary["replicas"], summary["epochs_run"]) == (len(logs), len(logs), epochs)


def _source_ids(dataset: tf.data.Dataset) -> list[bytes]:
    return sorted(example["source_id"] for example in dataset.as_numpy_iterator())


@pytest.mark.parametrize(("shards", "share_sizes"), [(1, [5, 4]), (3, [6, 3])])
@pytest.mark.slow
def test_each_worker_reads_its_own_share_of_the_split(tmp_path, shards, share_sizes):
    # One file for two workers is split by record, three files by file (0 and 2, then 1).
    generate_dataset(SynthConfig(train=9, val=1, size=64, seed=3), str(tmp_path / "data"), progress=False)
    ingest = str(tmp_path / "ingest")
    ingest_dataset(str(tmp_path / "data"), ingest, IngestConfig(shards=shards), progress=False)
    shares = [_source_ids(load_examples(ingest, "train", input_context=tf.distribute.InputContext(2, index))) for index in (0, 1)]
    assert [len(share) for share in shares] == share_sizes
    assert sorted(shares[0] + shares[1]) == _source_ids(load_examples(ingest, "train"))


@pytest.mark.slow
def test_a_worker_resumes_from_the_chiefs_backup_and_writes_only_its_own(tmp_path):
    shared, own = tmp_path / "out" / "backup", tmp_path / "scratch" / "backup"
    images, targets = np.arange(8.0).reshape(4, 2), np.ones((4, 1))

    def compiled() -> keras.Model:
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        return model

    chief = compiled()
    chief.fit(images, targets, epochs=2, verbose=0,
              callbacks=[keras.callbacks.BackupAndRestore(str(shared), delete_checkpoint=False)])
    chief_backup = {path.name: path.read_bytes() for path in shared.iterdir()}

    worker, seen = compiled(), {"weights": [], "epochs": [], "own_backup": []}
    record = keras.callbacks.LambdaCallback(
        on_train_begin=lambda logs: seen["weights"].append(worker.get_weights()),
        on_epoch_begin=lambda epoch, logs: seen["epochs"].append(epoch),
        on_epoch_end=lambda epoch, logs: seen["own_backup"].append((own / "latest.weights.h5").exists()),
    )
    worker.fit(images, targets, epochs=3, verbose=0, callbacks=[BackupAndRestoreFrom(str(shared), str(own)), record])

    assert seen["epochs"] == [2]  # after the chief's two epochs, from the chief's weights
    assert all(np.array_equal(mine, its) for mine, its in zip(seen["weights"][0], chief.get_weights(), strict=True))
    assert seen["own_backup"] == [True] and not own.exists()  # backed up into its own folder, removed at the end
    assert {path.name: path.read_bytes() for path in shared.iterdir()} == chief_backup  # the chief's untouched


@pytest.fixture(scope="module")
def one_shard_ingest(tmp_path_factory) -> Path:
    """Fewer files than workers (one per split): the default below 1000 images, and the case
    tf.data's own file sharding cannot split."""
    base = tmp_path_factory.mktemp("distribute")
    generate_dataset(SynthConfig(train=16, val=4, size=96, seed=14), str(base / "data"), progress=False)
    ingest_dataset(str(base / "data"), str(base / "ingest"), IngestConfig(shards=1), progress=False)
    (base / "tiny.yaml").write_text(TINY_MODEL)
    return base


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Your input ran out of data")  # evaluate's one pass over the val split
def test_two_workers_train_together_and_only_the_chief_writes(one_shard_ingest, tmp_path):
    base, out, scratch = one_shard_ingest, tmp_path / "out", tmp_path / "tmp"
    scratch.mkdir()
    cluster = {"worker": [f"localhost:{port}" for port in free_ports(2)]}
    command = [FRACDET, "train", "--data", str(base / "ingest"), "--out", str(out), "--config", str(base / "tiny.yaml"),
               "--epochs", "1"]
    logs = [tmp_path / f"worker{index}.log" for index in (0, 1)]
    environments = [{**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
                     "CUDA_VISIBLE_DEVICES": "-1", "TMPDIR": str(scratch)} for index in (0, 1)]
    with running([command, command], environments, logs) as workers:  # the same --out for both, as every pod gets
        codes = [worker.wait(timeout=600) for worker in workers]
    texts = [log.read_text() for log in logs]
    assert codes == [0, 0], "\n\n".join(text[-3000:] for text in texts)
    assert_trained_together(texts, out, scratch, chief_pids={workers[0].pid}, epochs=1)
    summary = json.loads((out / "train_summary.json").read_text())

    # The loss is per image, not summed over replicas: the validation loss of the saved weights,
    # on one process in the replicas' batch of 8 / 2, over the val split's calibration half, is
    # the one training reported (to 1e-4 or so: the distributed graph rounds differently; twice
    # it would mean a sum).
    model_config, train_config = load_configs(str(base / "tiny.yaml"))
    val = training_dataset(str(base / "ingest"), "val", model_config, 4, augmentation=None, shuffle=False, deterministic=True,
                           in_scope_only=True, source_ids=calibration_source_ids(str(base / "ingest")))
    model = keras.saving.load_model(out / "model.keras")
    detector = keras.Model(model.input, model.output[DETECTIONS])  # the saved model holds the head beside it
    detector.compile(loss=DetectionLoss(box_loss=train_config.box_loss, focal_gamma=train_config.focal_gamma,
                                        study_weight=train_config.study_weight))
    assert detector.evaluate(val, verbose=0, return_dict=True)["loss"] == pytest.approx(summary["best_val_loss"], rel=1e-2)

    # The exported SavedModel serves an encoded image.
    serve = tf.saved_model.load(str(out / "saved_model")).signatures["serving_default"]
    image = next((base / "data").rglob("*.png")).read_bytes()
    detections = serve(images=tf.constant([image]))
    assert detections["detection_boxes"].shape == (1, 100, 4) and detections["num_detections"].shape == (1,)
