"""Training for real on tiny data: it runs, writes its outputs, and resumes after a kill."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fracdet_core.errors import ConfigError
from fracdet_core.ingest import IngestConfig, ingest_dataset
from fracdet_core.synth import SynthConfig, generate_dataset
from fracdet_core.train.config import TrainConfig, load_configs
from fracdet_core.train.run import averaging_momentum, serving_limits

FRACDET = str(Path(sys.executable).with_name("fracdet"))
TINY_MODEL = """
model:
  image_size: 64
  stem_width: 8
  stage_widths: [8, 8, 16, 16, 16]
  stage_depths: [1, 1, 1, 1, 1]
  fpn_width: 8
  head_depth: 1
train:
  batch_size: 8
  early_stopping_patience: 0
  indications_epochs: 2
"""


@pytest.fixture(scope="module")
def ingest(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("train")
    generate_dataset(SynthConfig(train=32, val=8, size=96, seed=14), str(base / "data"), progress=False)
    ingest_dataset(str(base / "data"), str(base / "ingest"), IngestConfig(shards=2), progress=False)
    (base / "tiny.yaml").write_text(TINY_MODEL)
    return base


def _train_command(base: Path, out: Path, epochs: int) -> list[str]:
    return [FRACDET, "train", "--data", str(base / "ingest"), "--out", str(out), "--config", str(base / "tiny.yaml"),
            "--epochs", str(epochs)]


@pytest.mark.slow
def test_training_writes_the_model_and_its_summary(ingest, tmp_path):
    result = subprocess.run(_train_command(ingest, tmp_path / "out", 2), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "epoch 1/2:" in result.stderr and "images/s" in result.stderr
    summary = json.loads((tmp_path / "out" / "train_summary.json").read_text())
    assert summary["epochs_run"] == 2 and summary["best_val_loss"] > 0 and summary["train_images_per_second"] > 0
    assert "indications epoch 2/2:" in result.stderr
    assert f"indications head: 2 epochs on the frozen detector; best val loss {summary['indications']['best_val_loss']:.4f}" \
        in result.stdout
    assert summary["indications"]["epochs_run"] == 2 and summary["indications"]["best_val_loss"] > 0
    assert (tmp_path / "out" / "model.keras").exists() and (tmp_path / "out" / "checkpoints" / "best.weights.h5").exists()
    assert (tmp_path / "out" / "saved_model" / "saved_model.pb").exists()
    assert any((tmp_path / "out" / "logs").rglob("events.out.tfevents.*"))
    assert not (tmp_path / "out" / "backup").exists()  # removed once training completes


def _kill_after(command: list[str], line_start: str) -> None:
    """Run `command` and kill it with SIGKILL once it printed a line starting with `line_start`."""
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    seen = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        seen.append(line)
        if line.startswith(line_start):
            break
    process.send_signal(signal.SIGKILL)  # the backup of an epoch is written before its line is printed
    process.wait(30)
    assert any(line.startswith(line_start) for line in seen), "".join(seen)


@pytest.mark.slow
def test_a_killed_training_resumes_from_its_last_epoch(ingest, tmp_path):
    out = tmp_path / "out"
    _kill_after(_train_command(ingest, out, 6), "epoch 2/6:")

    resumed = subprocess.run(_train_command(ingest, out, 6), capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    epochs = [int(line.split("/")[0].split()[1]) for line in resumed.stderr.splitlines() if line.startswith("epoch ")]
    # It continues after the last epoch the killed run finished (2, or a later one it reached
    # before the signal landed), never from the first.
    assert epochs[0] >= 3 and epochs == list(range(epochs[0], 7))
    assert json.loads((out / "train_summary.json").read_text())["epochs_run"] == 6


@pytest.mark.slow
def test_a_training_killed_in_the_indications_phase_resumes_there_without_training_the_detector_again(ingest, tmp_path):
    out = tmp_path / "out"
    config = tmp_path / "long_head.yaml"
    config.write_text(TINY_MODEL.replace("indications_epochs: 2", "indications_epochs: 5"))
    command = [*_train_command(ingest, out, 2)[:-4], "--config", str(config), "--epochs", "2"]
    _kill_after(command, "indications epoch 2/5:")

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    lines = resumed.stderr.splitlines()
    assert not any(line.startswith("epoch ") for line in lines)
    assert "detector: trained already (2 epochs), resuming with the indications head" in lines
    epochs = [int(line.split("/")[0].split()[2]) for line in lines if line.startswith("indications epoch ")]
    assert epochs[0] >= 3 and epochs == list(range(epochs[0], 6))
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["epochs_run"] == 2 and len(summary["history"]) == 2 and summary["indications"]["epochs_run"] == 5
    assert not (out / "backup").exists()


def test_configs_from_yaml_with_overrides(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(TINY_MODEL)
    model, train = load_configs(str(path), epochs=3, batch_size=None)
    assert model.image_size == 64 and model.stage_widths == (8, 8, 16, 16, 16)
    assert train.epochs == 3 and train.batch_size == 8 and train.early_stopping_patience == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [("model: {depth: 3}", r"unknown model settings \['depth'\]; known: \['fine_box_share', 'fine_image_size', "),
     ("optimizer: {}", r"unknown sections \['optimizer'\]; expected 'model' and 'train'"),
     ("train: {box_loss: l1}", "box_loss must be one of"), ("train: [1, 2", "not valid YAML"),
     ("[model, train]", "expected a mapping with 'model' and 'train' sections, got list"),
     ("train: 5", "the train section must map settings to values, got int"),
     ("model: {1: 2, depth: 3}", r"unknown model settings \[1, 'depth'\]")],
)
def test_bad_configs_are_named(tmp_path, content, message):
    path = tmp_path / "config.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_configs(str(path))


@pytest.mark.parametrize("given", [{"epoch": 3}, {"epoch": None}, {"imagesize": 256, "epochs": 3}])
def test_an_override_that_names_no_setting_is_an_error_naming_it(tmp_path, given):
    path = tmp_path / "config.yaml"
    path.write_text(TINY_MODEL)
    misspelt = [key for key in given if key != "epochs"]
    with pytest.raises(ConfigError) as raised:
        load_configs(str(path), **given)
    message = str(raised.value)
    assert message.startswith(f"unknown settings {misspelt}; known: model ['fine_box_share', 'fine_image_size', ")
    assert message.endswith(", 'warmup_epochs', 'weight_averaging', 'xla']")
    assert "'image_size'" in message.split("train [")[0] and "'epochs'" in message.split("train [")[1]


@pytest.mark.parametrize(("changes", "message"), [
    ({"learning_rate": 2.0}, "learning_rate"),
    ({"fine_crop_share": 1.5}, r"fine_crop_share must be within \[0, 1\]"),
    ({"study_weight": -0.5}, "study_weight"),
    ({"weight_averaging": 1.0}, r"weight_averaging must be within \[0, 1\), got 1.0"),
    ({"weight_averaging": -0.1}, r"weight_averaging must be within \[0, 1\), got -0.1"),
])
def test_train_config_checks_itself(changes, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**changes)


@pytest.mark.parametrize(("options", "expected"), [
    ({}, {"max_pixels": 25_000_000, "max_bytes": 64 * 2**20}),  # a manifest from before the limits were recorded
    ({"max_pixels": 1_000, "max_bytes": 10}, {"max_pixels": 25_000_000, "max_bytes": 64 * 2**20}),
    ({"max_pixels": 100_000_000, "max_bytes": 128 * 2**20}, {"max_pixels": 100_000_000, "max_bytes": 128 * 2**20}),
])
def test_the_model_serves_every_image_its_ingest_admitted(options, expected):
    assert serving_limits({"options": options} if options else {}) == expected


@pytest.mark.slow
def test_training_from_and_to_gs_goes_through_the_storage_layer_at_a_10_percent_fault_rate(ingest, faulty_gcs, tmp_path):
    """TensorFlow's own gs:// file system cannot reach the emulator (it would try www.googleapis.com and fail), so this
    passes only if training stages the shards and publishes its outputs through the storage layer, faults and all."""
    from fracdet_core import storage

    proxy, bucket = faulty_gcs
    data, out = f"gs://{bucket}/ingest", f"gs://{bucket}/train"
    storage.copy_tree(str(ingest / "ingest"), data)
    proxy.inject(rate=0.10, seed=2)
    command = [FRACDET, "train", "--data", data, "--out", out, "--config", str(ingest / "tiny.yaml"), "--epochs", "2"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    faults = proxy.faults_done()
    proxy.inject()
    assert result.returncode == 0, result.stderr
    root = out + "/"
    files = [uri[len(root):] for uri in storage.list_files(out)]
    assert {"model.keras", "saved_model/saved_model.pb", "checkpoints/best.weights.h5", "train_summary.json",
            "model_config.json"} <= set(files)
    assert any(name.startswith("logs/") and "events.out.tfevents" in name for name in files)
    assert not any(name.startswith("backup/") for name in files)  # removed once training finished
    assert json.loads(storage.read_text(f"{out}/train_summary.json"))["epochs_run"] == 2
    assert sum(faults.values()) >= 3, faults


@pytest.mark.parametrize(("weight_averaging", "total_steps", "expected"), [
    (0.99, 1316, 0.99),  # the demo: 28 epochs of 47 steps
    (0.99, 100, 0.9),  # short: the initial weights keep e**-10 of the average
    (0.99, 20, 0.5),
    (0.99, 19, 0.0),  # too few steps for an average
    (0.0, 10_000, 0.0),  # off
])
def test_the_weight_average_forgets_the_initial_weights(weight_averaging, total_steps, expected):
    momentum = averaging_momentum(weight_averaging, total_steps)
    assert momentum == pytest.approx(expected)
    assert momentum == 0 or momentum**total_steps <= math.exp(-10) * 1.0001
