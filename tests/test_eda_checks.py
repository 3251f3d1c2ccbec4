"""Each data check triggered by a crafted dataset, and passing on a healthy one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from yolo_builders import labelled_dataset, one_box_per_class

from fracdet_core.eda.config import EdaConfig
from fracdet_core.eda.run import DataChecksFailedError, run_eda
from fracdet_core.errors import ConfigError
from fracdet_core.ingest import ingest_dataset

HEALTHY_TRAIN = one_box_per_class() * 3
HEALTHY_VAL = one_box_per_class()
WITHOUT_ELBOW_FRACTURES = [label for label in HEALTHY_TRAIN if not label.startswith("0 ")]
ALL_VAL_QUARANTINED = ["0 0.5 0.5\n"]  # a bad label line: the only val image is rejected
LENIENT = EdaConfig(min_class_boxes=1, max_share_gap=1.0)


def _analyse(tmp_path: Path, train: list, val: list, config: EdaConfig = LENIENT) -> dict:
    data = labelled_dataset(tmp_path / "data", train, val)
    ingest_dataset(str(data), str(tmp_path / "ingest"), progress=False)
    return run_eda(str(tmp_path / "ingest"), str(tmp_path / "eda"), config)


def _checks(tmp_path: Path) -> dict[str, dict]:
    import json

    return {check["name"]: check for check in json.loads((tmp_path / "eda" / "stats.json").read_text())["checks"]}


def test_a_healthy_dataset_passes_every_check(tmp_path):
    stats = _analyse(tmp_path, HEALTHY_TRAIN, HEALTHY_VAL)
    assert all(check["passed"] for check in stats["checks"])


@pytest.mark.parametrize(
    ("train", "val", "config", "failed", "message"),
    [
        (WITHOUT_ELBOW_FRACTURES, HEALTHY_VAL, LENIENT, "class_without_training_boxes", "XR_ELBOW_positive"),
        (HEALTHY_TRAIN, ALL_VAL_QUARANTINED, LENIENT, "empty_val_split", "val has 0 images"),
        ([*HEALTHY_TRAIN, *["0 0.5 0.5 0.2\n"] * 5], HEALTHY_VAL, LENIENT, "quarantine_share", "5 of 45 files"),
        ([*HEALTHY_TRAIN, "".join(f"0 0.5 0.5 0.{i + 1} 0.1\n" for i in range(6))], HEALTHY_VAL,
         EdaConfig(min_class_boxes=1, max_share_gap=1.0, max_boxes_per_image=5), "boxes_per_image", "1 images have more than 5"),
        ([*HEALTHY_TRAIN, "3 0.5 0.5 0.01 0.3\n"], HEALTHY_VAL,
         EdaConfig(min_class_boxes=1, max_share_gap=1.0, max_degenerate_box_share=0.0), "degenerate_boxes", "1 boxes"),
    ],
    ids=["missing class", "empty val", "quarantine share", "crowded image", "degenerate box"],
)
def test_each_failure_stops_the_stage_after_writing_the_report(tmp_path, train, val, config, failed, message):
    with pytest.raises(DataChecksFailedError) as raised:
        _analyse(tmp_path, train, val, config)
    assert failed in str(raised.value) and message in str(raised.value)
    checks = _checks(tmp_path)
    assert not checks[failed]["passed"]
    assert [name for name, check in checks.items() if check["severity"] == "failure" and not check["passed"]] == [failed]
    assert (tmp_path / "eda" / "report.html").exists()


def test_warnings_do_not_stop_the_stage(tmp_path):
    train = HEALTHY_TRAIN + ["4 0.5 0.5 0.2 0.2\n"] * 20
    stats = _analyse(tmp_path, train, HEALTHY_VAL, EdaConfig(min_class_boxes=4, max_share_gap=0.2))
    warnings = {check["name"]: check for check in stats["checks"] if check["severity"] == "warning"}
    assert not warnings["rare_classes"]["passed"] and "XR_ELBOW_positive (3)" in warnings["rare_classes"]["detail"]
    assert not warnings["train_val_share_gap"]["passed"] and "XR_SHOULDER_positive" in warnings["train_val_share_gap"]["detail"]


def test_the_cli_exits_2_and_lists_the_failures(tmp_path):
    data = labelled_dataset(tmp_path / "data", WITHOUT_ELBOW_FRACTURES, ALL_VAL_QUARANTINED)
    ingest_dataset(str(data), str(tmp_path / "ingest"), progress=False)
    fracdet = str(Path(sys.executable).with_name("fracdet"))
    result = subprocess.run([fracdet, "eda", "--data", str(tmp_path / "ingest"), "--out", str(tmp_path / "eda")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "2 data check(s) failed" in line and "class_without_training_boxes" in line and "empty_val_split" in line
    assert "report.html" in line


def test_an_ingest_that_is_missing_is_named(tmp_path):
    from fracdet_core.data.manifest import IngestNotFoundError

    with pytest.raises(IngestNotFoundError, match=r"holds no manifest\.json"):
        run_eda(str(tmp_path / "nothing"), str(tmp_path / "eda"))


@pytest.mark.parametrize(("changes", "message"), [({"weighting": "inverse"}, "'inverse'"), ({"beta": 1.0}, "beta"),
                                                  ({"max_quarantine_share": 2.0}, "max_quarantine_share")])
def test_the_config_is_checked(changes, message):
    with pytest.raises(ConfigError, match=message):
        EdaConfig(**changes)
