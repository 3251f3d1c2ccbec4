"""`fracdet predict --out`: never an input, never a file, one run's complete results, even after `kill -9`.

The model finds one XR_FOREARM_negative box on every image (tests/model_builders.py), so every
summary row is known in advance.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from model_builders import CONFIG, constant_model
from yolo_builders import png_bytes

from fracdet import main
from fracdet_core import storage
from fracdet_core.errors import ConfigError
from fracdet_core.predict.config import PredictConfig
from fracdet_core.predict.run import predict
from fracdet_core.serving.signature import export_saved_model

RECORD = ".fracdet-predict.json"


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> str:
    base = tmp_path_factory.mktemp("constant")
    keras_model, _ = constant_model()
    export_saved_model(keras_model, CONFIG, str(base / "model" / "saved_model"))
    return str(base / "model")


def _images(folder: Path, names: list[str], size: tuple[int, int] = (64, 48)) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for index, name in enumerate(names):
        written[name] = png_bytes(index, size=size)
        (folder / f"{name}.png").write_bytes(written[name])
    return written


def _run_files(names: list[str]) -> list[str]:
    """The files a run that predicts `names` leaves in --out."""
    return sorted([RECORD, "errors.csv", "summary.csv"] + [f"{name}.{kind}" for name in names for kind in ("json", "png")])


def _listing(out: str) -> list[str]:
    root = out.rstrip("/") + "/"
    return sorted(uri[len(root):] for uri in storage.list_files(out))


def _summary_names(out: str) -> list[str]:
    return [row["name"] for row in csv.DictReader(storage.read_text(storage.join(out, "summary.csv")).splitlines())]


def _predict(model: str, out: str, *inputs: str) -> int:
    return main(["predict", "--model", model, "--out", out, "--threshold", "0.5", "--quiet", *inputs])


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_the_summary_row_of_a_model_whose_one_detection_is_known(model, tmp_path):
    _images(tmp_path / "in", ["knee"], size=(200, 100))
    assert _predict(model, str(tmp_path / "out"), str(tmp_path / "in")) == 0
    with open(tmp_path / "out" / "summary.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    # One FOREARM normal box scoring about 1: no fracture box of the part (score 0), drawn at threshold 0.5.
    assert rows == [{"name": "knee", "input": str(tmp_path / "in" / "knee.png"), "width": "200", "height": "100",
                     "body_part": "FOREARM", "fractured": "False", "fracture_score": "0.0", "threshold": "0.5",
                     "normalised_score": "0.0", "detections": "1", "drawn": "1", "in_scope": "True",
                     "indication_reason": "not_decided", "operating_point": ""}]


@pytest.mark.parametrize(("out", "inputs", "says"), [
    ("in", ["in"], "--out {tmp}/in is the input {tmp}/in: the results would be written among the inputs"),
    ("in/out", ["in"], "--out {tmp}/in/out lies inside the input {tmp}/in"),
    (".", ["in/a.png"], "--out {tmp}/. contains the input {tmp}/in/a.png: replacing --out with the results would delete it"),
    ("link", ["in"], "--out {tmp}/link is the input {tmp}/in"),
], ids=["the input folder", "inside the input folder", "containing an input", "a link to the input folder"])
def test_an_out_overlapping_an_input_is_refused_before_the_model_is_looked_up(tmp_path, capsys, out, inputs, says):
    _images(tmp_path / "in", ["a", "b"])
    (tmp_path / "link").symlink_to(tmp_path / "in")
    before = _snapshot(tmp_path)
    missing_model = str(tmp_path / "no-model")  # were it looked up first, the error would be about it
    assert _predict(missing_model, f"{tmp_path}/{out}", *(f"{tmp_path}/{item}" for item in inputs)) == 2
    assert says.format(tmp=tmp_path) in capsys.readouterr().err
    assert _snapshot(tmp_path) == before and sorted(path.name for path in tmp_path.iterdir()) == ["in", "link"]


def test_an_image_in_an_input_folder_linked_from_out_is_refused(model, tmp_path):
    _images(tmp_path / "in", ["a"])
    assert _predict(model, str(tmp_path / "out"), str(tmp_path / "in")) == 0
    (tmp_path / "in" / "again.png").symlink_to(tmp_path / "out" / "a.png")
    with pytest.raises(ConfigError, match=f"contains the input {tmp_path}/in/again.png"):
        predict(model, [str(tmp_path / "in")], str(tmp_path / "out"), PredictConfig(threshold=0.5, show_progress=False))
    assert _listing(str(tmp_path / "out")) == _run_files(["a"])


def test_gcs_an_out_inside_the_input_prefix_is_refused(tmp_path, gcs_bucket, capsys):
    storage.write_bytes(f"gs://{gcs_bucket}/in/a.png", png_bytes(0))
    assert _predict(str(tmp_path / "no-model"), f"gs://{gcs_bucket}/in/./out", f"gs://{gcs_bucket}/in") == 2
    assert f"--out gs://{gcs_bucket}/in/./out lies inside the input gs://{gcs_bucket}/in" in capsys.readouterr().err
    assert storage.list_files(f"gs://{gcs_bucket}") == [f"gs://{gcs_bucket}/in/a.png"]


def test_an_out_that_is_a_file_is_refused_up_front(tmp_path, capsys):
    _images(tmp_path / "in", ["a"])
    (tmp_path / "summary.csv").write_text("mine\n")
    assert _predict(str(tmp_path / "no-model"), str(tmp_path / "summary.csv"), str(tmp_path / "in")) == 2
    assert (f"fracdet predict: error: --out {tmp_path}/summary.csv is a file; name a folder: a new one, an empty one, or an "
            "earlier fracdet predict output") in capsys.readouterr().err
    assert (tmp_path / "summary.csv").read_text() == "mine\n"


def test_a_folder_predict_did_not_write_is_refused_and_left_alone(tmp_path, capsys):
    _images(tmp_path / "in", ["a"])
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine\n")
    assert _predict(str(tmp_path / "no-model"), str(tmp_path / "out"), str(tmp_path / "in")) == 2
    assert "holds files fracdet predict did not write (it has no .fracdet-predict.json): notes.txt" in capsys.readouterr().err
    assert _snapshot(tmp_path / "out") == {"notes.txt": b"mine\n"}


def test_a_second_run_with_fewer_inputs_leaves_exactly_its_own_files(model, tmp_path, storage_root):
    _images(tmp_path / "in", ["a", "b", "c"])
    out = storage.join(storage_root, "predictions")
    assert _predict(model, out, str(tmp_path / "in")) == 0
    assert _listing(out) == _run_files(["a", "b", "c"])
    assert _predict(model, out, str(tmp_path / "in" / "b.png")) == 0
    assert _listing(out) == _run_files(["b"]) and _summary_names(out) == ["b"]
    assert json.loads(storage.read_text(storage.join(out, RECORD))) == {
        "writer": "fracdet predict", "state": "complete", "files": ["b.json", "b.png", "errors.csv", "summary.csv"]}
    assert storage.list_files(storage_root) == storage.list_files(out)  # nothing left beside it


@pytest.mark.slow
def test_a_run_killed_part_way_leaves_the_previous_complete_run(model, tmp_path):
    out = tmp_path / "out"
    _images(tmp_path / "first", ["a", "b"])
    assert _predict(model, str(out), str(tmp_path / "first")) == 0
    first = _snapshot(out)
    assert sorted(first) == _run_files(["a", "b"])

    many = [f"image{index:03d}" for index in range(400)]
    _images(tmp_path / "many", many)
    command = ("import sys; from fracdet import main; sys.exit(main(sys.argv[1:]))", "predict", "--model", model,
               "--out", str(out), "--threshold", "0.5", "--batch-size", "1", "--quiet", str(tmp_path / "many"))
    process = subprocess.Popen([sys.executable, "-c", *command], env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not any(len(list(staging.glob("*.json"))) >= 3 for staging in tmp_path.glob(".out.tmp-*")):
            assert process.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(60)
    assert process.returncode == -signal.SIGKILL

    assert _snapshot(out) == first  # exactly the first run: its files, their bytes
    assert len(list(tmp_path.glob(".out.tmp-*"))) == 1  # the killed run's staging, which the next run clears
    assert _predict(model, str(out), str(tmp_path / "first" / "a.png")) == 0
    assert sorted(_snapshot(out)) == _run_files(["a"]) and not list(tmp_path.glob(".out.tmp-*"))
