"""`fracdet ingest` as users run it: a clean run, one-line errors, and a kill -9 mid-way."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bomb_builders import blank_png_streamed
from yolo_builders import add_image, png_bytes, write_data_yaml

from fracdet_core.data.tfrecord import read_records
from fracdet_core.synth import SynthConfig, generate_dataset

FRACDET = str(Path(sys.executable).with_name("fracdet"))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("cli") / "data"
    generate_dataset(SynthConfig(train=120, val=20, size=160, seed=9), str(data), workers=2, progress=False)
    return data


def _ingest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FRACDET, "ingest", *args], capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_ingest_prints_the_accounting_and_where(dataset, tmp_path):
    result = _ingest("--data", str(dataset / "data.yaml"), "--out", str(tmp_path / "out"), "--quiet", "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert "found 140, ingested 140, quarantined 0" in result.stdout
    assert f"ingest: {tmp_path / 'out'}" in result.stdout


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda root: None, "no data.yaml here"),
        (lambda root: (root / "data.yaml").write_text("names: [XR_KNEE_positive]\ntrain: a\nval: b\n"),
         "unknown class 'XR_KNEE_positive'"),
        (lambda root: write_data_yaml(root, train="missing"), "train folder"),
    ],
)
def test_unusable_datasets_exit_2_with_one_line(tmp_path, setup, expected):
    root = tmp_path / "data"
    root.mkdir()
    setup(root)
    result = _ingest("--data", str(root), "--out", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and expected in result.stderr


@pytest.mark.slow
def test_a_run_killed_mid_way_leaves_no_partial_output_and_a_rerun_completes(dataset, tmp_path):
    out = tmp_path / "out"
    args = ["--data", str(dataset), "--out", str(out), "--shards", "12", "--workers", "1", "--quiet"]
    process = subprocess.Popen([FRACDET, "ingest", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(out.glob("train-*.tfrecord")) and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    visible = sorted(out.glob("*.tfrecord"))
    assert visible, "the run was killed before it published a shard"
    assert len(visible) < 24, "the run finished before it was killed"
    assert not (out / "manifest.json").exists()
    for shard in visible:  # every visible shard is whole
        with open(shard, "rb") as stream:
            assert sum(1 for _ in read_records(stream)) == 10

    assert _ingest(*args).returncode == 0
    clean = tmp_path / "clean"
    assert _ingest("--data", str(dataset), "--out", str(clean), "--shards", "12", "--quiet").returncode == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == {p.name: p.read_bytes() for p in clean.iterdir()}
    assert json.loads((out / "manifest.json").read_text())["totals"]["ingested"] == 140


@pytest.fixture(scope="module")
def with_a_large_image(tmp_path_factory) -> Path:
    """Two 64x48 images and one of 9500x9500, just above Pillow's own 89,478,485-pixel guard."""
    root = tmp_path_factory.mktemp("large") / "data"
    add_image(root, "train", "small.png", png_bytes(1), "0 0.5 0.5 0.2 0.2\n")
    add_image(root, "train", "large.png", blank_png_streamed(9500, 9500), "0 0.5 0.5 0.2 0.2\n")
    add_image(root, "valid", "small.png", png_bytes(2), "0 0.5 0.5 0.2 0.2\n")
    write_data_yaml(root)
    return root


@pytest.mark.parametrize(
    ("max_pixels", "quarantined"),
    [
        (None, {"train/images/large.png": "9500x9500 = 90,250,000 pixels, above the limit of 25,000,000"}),
        ("100000000", {}),  # above Pillow's guard: our limit is the one that applies
        ("3071", {"train/images/large.png": "9500x9500 = 90,250,000 pixels, above the limit of 3,071",
                  "train/images/small.png": "64x48 = 3,072 pixels, above the limit of 3,071",
                  "valid/images/small.png": "64x48 = 3,072 pixels, above the limit of 3,071"}),
    ],
    ids=["default", "above-pillows-guard", "below-the-default"],
)
@pytest.mark.slow
def test_max_pixels_is_honoured_in_both_directions_by_worker_processes(with_a_large_image, tmp_path, max_pixels, quarantined):
    out = tmp_path / "out"
    limit = ["--max-pixels", max_pixels] if max_pixels else []
    result = _ingest("--data", str(with_a_large_image), "--out", str(out), "--workers", "2", "--quiet", *limit)
    assert result.returncode == 0, result.stderr
    entries = [json.loads(line) for line in (out / "quarantine.jsonl").read_text().splitlines()]
    root = with_a_large_image.as_posix()
    assert {entry["path"].removeprefix(root + "/"): entry["detail"] for entry in entries} == quarantined
    assert {entry["reason"] for entry in entries} <= {"decompression_bomb"}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["totals"]["ingested"] == 3 - len(quarantined)
    assert manifest["options"]["max_pixels"] == int(max_pixels or 25_000_000)


def test_a_file_over_max_bytes_is_quarantined_unread(with_a_large_image, tmp_path):
    """The 9500x9500 PNG is the largest file of the three; a byte limit just below its size refuses it alone."""
    large = with_a_large_image / "train" / "images" / "large.png"
    size = large.stat().st_size
    out = tmp_path / "out"
    result = _ingest("--data", str(with_a_large_image), "--out", str(out), "--quiet", "--max-pixels", "100000000",
                     "--max-bytes", str(size - 1))
    assert result.returncode == 0, result.stderr
    [entry] = [json.loads(line) for line in (out / "quarantine.jsonl").read_text().splitlines()]
    assert (entry["path"], entry["reason"], entry["detail"]) == (
        large.as_posix(), "file_too_large", f"{size:,} bytes, above the limit of {size - 1:,} (--max-bytes)")
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["totals"]["ingested"], manifest["options"]["max_bytes"]) == (2, size - 1)
