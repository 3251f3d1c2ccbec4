"""The `fracdet` console script as a user runs it: help, a real run, and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

FRACDET = str(Path(sys.executable).with_name("fracdet"))


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FRACDET, *args], capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.parametrize("args", [["--help"], ["synth", "--help"]])
def test_help_explains_every_level(args):
    result = _run(*args)
    assert result.returncode == 0
    assert "usage: fracdet" in result.stdout
    assert ("synth" in result.stdout) if args == ["--help"] else ("--out" in result.stdout and "--workers" in result.stdout)


@pytest.mark.slow
def test_synth_writes_a_dataset_and_says_where(tmp_path):
    out = tmp_path / "data"
    result = _run("synth", "--out", str(out), "--train", "4", "--val", "2", "--size", "96", "--workers", "2", "--quiet")
    assert result.returncode == 0, result.stderr
    assert f"dataset: {out}/data.yaml" in result.stdout
    assert "train: 4 images" in result.stdout and "val: 2 images" in result.stdout
    assert len(list((out / "train" / "images").iterdir())) == 4


def _assert_one_line_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip() and "usage:" not in line and not line.startswith(" ")]
    assert len(lines) == 1 and expected in lines[0], result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["synth", "--out", "x", "--train", "-1"], "must be 0 or more, got -1"),
        (["synth", "--out", "x", "--size", "big"], "expected a whole number, got 'big'"),
        (["synth", "--out", "x", "--format", "bmp"], "invalid choice: 'bmp'"),
        (["synth", "--out", "x", "--size", "16"], "size must be within [64, 4096] pixels, got 16"),
        (["synth"], "the following arguments are required: --out"),
        (["unknown"], "invalid choice: 'unknown'"),
        (["pipeline", "run", "--data", "d", "--registry", "r"],  # the pipeline's own names, not these
         "the following arguments are required: --data_uri/--data-uri, --registry_uri/--registry-uri"),
        (["pipeline", "run", "--data-uri", "d", "--registry-uri", "r", "--epochs", "many"],
         "argument --epochs: expected a whole number, got 'many'"),
    ],
)
def test_user_mistakes_exit_2_with_one_line(args, expected):
    _assert_one_line_error(_run(*args), expected)


def test_an_existing_dataset_is_not_overwritten_silently(tmp_path):
    args = ["synth", "--out", str(tmp_path), "--train", "1", "--val", "1", "--size", "64", "--quiet", "--workers", "1"]
    assert _run(*args).returncode == 0
    _assert_one_line_error(_run(*args), "pass --overwrite to replace it")
    assert _run(*args, "--overwrite").returncode == 0


def test_a_missing_bucket_is_one_clear_line(gcs_emulator):
    import os

    result = _run("synth", "--out", "gs://no-such-bucket/data", "--train", "1", "--val", "0", "--size", "64",
                  "--quiet", "--workers", "1", env=dict(os.environ))
    _assert_one_line_error(result, "bucket gs://no-such-bucket does not exist")
