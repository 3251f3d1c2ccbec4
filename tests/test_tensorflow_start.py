"""`fracdet predict` prints only its own lines: TensorFlow's start-up chatter, written by its native libraries before
`TF_CPP_MIN_LOG_LEVEL` applies (and twice), is dropped while TensorFlow is imported; its warnings and errors are not."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
from model_builders import CONFIG, constant_model
from yolo_builders import png_bytes

from fracdet_core.serving.signature import export_saved_model
from fracdet_core.tensorflow_start import ABSL_BANNER, without_chatter

# What `import tensorflow` wrote with oneDNN on and TF_CPP_MIN_LOG_LEVEL unset, with a warning and Python's own line added.
CAPTURED = f"""{ABSL_BANNER}
I0000 00:00:1796674728.718922    6131 port.cc:153] oneDNN custom operations are on. You may see different results.
I0000 00:00:1796674729.065599    6131 cpu_feature_guard.cc:227] This TensorFlow binary is optimized.
To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the appropriate compiler flags.
W0000 00:00:1796674729.100000    6131 gpu_device.cc:2341] Cannot dlopen some GPU libraries.
{ABSL_BANNER}
I0000 00:00:1796674732.758901    6131 port.cc:153] oneDNN custom operations are on. You may see different results.
E0000 00:00:1796674732.800000    6131 cuda_dnn.cc:8579] Unable to register cuDNN factory
"""


def test_the_banner_and_info_records_go_warnings_and_errors_stay():
    assert without_chatter(CAPTURED) == (
        "W0000 00:00:1796674729.100000    6131 gpu_device.cc:2341] Cannot dlopen some GPU libraries.\n"
        "E0000 00:00:1796674732.800000    6131 cuda_dnn.cc:8579] Unable to register cuDNN factory\n")
    assert without_chatter(CAPTURED, keep_info=True) == CAPTURED
    assert without_chatter("a line of Python's own\n") == "a line of Python's own\n"


@pytest.fixture(scope="module")
def model_and_image(tmp_path_factory) -> tuple[str, str]:
    base = tmp_path_factory.mktemp("quiet")
    export_saved_model(constant_model()[0], CONFIG, str(base / "model" / "saved_model"))
    (base / "image.png").write_bytes(png_bytes(1, size=(96, 64)))
    return str(base / "model"), str(base / "image.png")


def _run_cli(model: str, image: str, out: Path, level: str | None) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    if level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = level
    command = [sys.executable, "-m", "fracdet", "predict", "--model", model, "--out", str(out), "--threshold", "0.5",
               "--quiet", image]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
@pytest.mark.parametrize("level", [None, "3"], ids=["TF_CPP_MIN_LOG_LEVEL unset", "TF_CPP_MIN_LOG_LEVEL=3"])
def test_the_real_cli_prints_its_own_lines_only(model_and_image, tmp_path, level):
    model, image = model_and_image
    finished = _run_cli(model, image, tmp_path / "out", level)
    assert finished.returncode == 0, finished.stderr
    assert finished.stderr == ""
    lines = finished.stdout.splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == ["model:", "thresholds:", "definite:", "predicted"]


@pytest.mark.slow
@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="oneDNN is turned on on x86 only")
def test_asking_tensorflow_for_its_info_lines_still_shows_them(model_and_image, tmp_path):
    """TF_CPP_MIN_LOG_LEVEL=0 is TensorFlow's own way to ask for INFO: then its start-up lines are written, as it wrote them."""
    model, image = model_and_image
    finished = _run_cli(model, image, tmp_path / "out", "0")
    assert finished.returncode == 0, finished.stderr
    assert "oneDNN custom operations are on" in finished.stderr
