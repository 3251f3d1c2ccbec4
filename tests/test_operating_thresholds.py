"""The operating thresholds file: what it holds, read back as written, and every way a file can break the schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fracdet_core.operating_thresholds import (
    FILE_NAME,
    SPLIT_CONFORMAL,
    EvaluationSource,
    OperatingThresholdsFile,
    ThresholdRule,
    ThresholdsFileError,
    parse_thresholds,
    read_thresholds,
    thresholds_location,
)

SHA = "ab" * 32
CHOSEN = OperatingThresholdsFile(
    model_sha256=SHA, by_body_part={"ELBOW": 0.41, "HAND": 0.375}, overall=0.35,
    rule=ThresholdRule(SPLIT_CONFORMAL, 0.9, "val", calibration_images=250, calibration_fractured=118),
    evaluation=EvaluationSource("cd" * 32, "gs://bucket/ingest", "ef" * 32, "2026-01-02T03:04:05+00:00"),
)
ADVICE = "pass --threshold X"
REPO = Path(__file__).resolve().parents[1]


def _document() -> dict:
    """What `CHOSEN` writes, spelt out by hand: the schema of the module docstring."""
    return {
        "schema": "fracdet.operating_thresholds", "schema_version": 1, "model_sha256": SHA,
        "thresholds": {"by_body_part": {"ELBOW": 0.41, "HAND": 0.375}, "overall": 0.35},
        "rule": {"method": "split_conformal", "target_sensitivity": 0.9, "split": "val", "calibration_images": 250,
                 "calibration_fractured": 118},
        "evaluation": {"metrics_sha256": "cd" * 32, "data": "gs://bucket/ingest", "data_manifest_sha256": "ef" * 32,
                       "evaluated_at": "2026-01-02T03:04:05+00:00"},
    }


def test_the_file_holds_the_schema_and_reads_back_as_written(tmp_path):
    assert json.loads(CHOSEN.encode()) == _document()
    (tmp_path / FILE_NAME).write_bytes(CHOSEN.encode())
    data, read = read_thresholds(str(tmp_path / FILE_NAME), ADVICE)
    assert data == CHOSEN.encode() and read == CHOSEN
    assert [read.for_part(part) for part in ("ELBOW", "HAND", "FINGER")] == [0.41, 0.375, 0.35]


def test_no_threshold_chosen_is_a_valid_file():
    document = _document() | {"thresholds": {"by_body_part": {}, "overall": None}}
    read = parse_thresholds(json.dumps(document).encode(), "t.json", ADVICE)
    assert (dict(read.by_body_part), read.overall, read.for_part("HAND")) == ({}, None, None)


def test_a_reference_names_the_file_or_the_folder_holding_it():
    assert thresholds_location("runs/evaluate") == f"runs/evaluate/{FILE_NAME}"
    assert thresholds_location("gs://bucket/registry/fracdet/versions/3/") == f"gs://bucket/registry/fracdet/versions/3/{FILE_NAME}"
    assert thresholds_location("runs/evaluate/chosen.json") == "runs/evaluate/chosen.json"


def test_a_missing_file_names_itself_and_the_callers_advice(tmp_path):
    with pytest.raises(ThresholdsFileError) as missing:
        read_thresholds(str(tmp_path / FILE_NAME), ADVICE)
    assert str(missing.value) == f"{tmp_path / FILE_NAME}: no operating thresholds file there; pass --threshold X"


def _without(document: dict, path: str) -> dict:
    *parents, key = path.split(".")
    block = document
    for parent in parents:
        block = block[parent]
    del block[key]
    return document


def _with(document: dict, path: str, value: object) -> dict:
    *parents, key = path.split(".")
    block = document
    for parent in parents:
        block = block[parent]
    block[key] = value
    return document


BROKEN = {
    "not JSON": (lambda: b"{", "not valid JSON (Expecting property name"),
    "a list": (lambda: b"[]", "a JSON object was expected, found list"),
    "metrics.json": (lambda: json.dumps({"map50": 0.5, "fracture": {}}).encode(),
                     "its 'schema' is None, not 'fracdet.operating_thresholds' (a metrics.json or another file?)"),
    "newer schema": (lambda: json.dumps(_with(_document(), "schema_version", 2)).encode(),
                     "schema_version 2: this fracdet reads schema version 1 (a newer fracdet wrote it)"),
    "schema version as text": (lambda: json.dumps(_with(_document(), "schema_version", "1")).encode(),
                               "schema_version '1': this fracdet reads schema version 1"),
    "no model": (lambda: json.dumps(_without(_document(), "model_sha256")).encode(), "the 'model_sha256' field is missing"),
    "model not a sha256": (lambda: json.dumps(_with(_document(), "model_sha256", "abc")).encode(),
                           "model_sha256 'abc' is not a sha256"),
    "no overall": (lambda: json.dumps(_without(_document(), "thresholds.overall")).encode(),
                   "the 'thresholds.overall' field is missing"),
    "unknown part": (lambda: json.dumps(_with(_document(), "thresholds.by_body_part.KNEE", 0.5)).encode(),
                     "thresholds.by_body_part names KNEE, not a body part of ELBOW, FINGER, FOREARM, HAND, SHOULDER"),
    "threshold above 1": (lambda: json.dumps(_with(_document(), "thresholds.by_body_part.HAND", 1.5)).encode(),
                          "thresholds.by_body_part.HAND is 1.5, expected a score within [0, 1]"),
    "threshold as text": (lambda: json.dumps(_with(_document(), "thresholds.overall", "0.3")).encode(),
                          "thresholds.overall is '0.3', expected a score within [0, 1]"),
    "threshold NaN": (lambda: json.dumps(_with(_document(), "thresholds.overall", float("nan"))).encode(),
                      "thresholds.overall is nan, expected a score within [0, 1]"),
    "parts without overall": (lambda: json.dumps(_with(_document(), "thresholds.overall", None)).encode(),
                              "thresholds.overall is null (no threshold chosen) while thresholds.by_body_part holds some"),
    "another rule": (lambda: json.dumps(_with(_document(), "rule.method", "youden")).encode(),
                     "rule.method is 'youden'; this fracdet knows 'split_conformal'"),
    "target of 0": (lambda: json.dumps(_with(_document(), "rule.target_sensitivity", 0)).encode(),
                    "rule.target_sensitivity is 0, expected a value within (0, 1]"),
    "count as a number": (lambda: json.dumps(_with(_document(), "rule.calibration_images", 250.0)).encode(),
                          "the 'rule.calibration_images' field is 250.0, expected a whole number"),
    "more fractured than images": (lambda: json.dumps(_with(_document(), "rule.calibration_fractured", 251)).encode(),
                                   "rule.calibration_fractured 251 is not between 0 and rule.calibration_images 250"),
    "no evaluation time": (lambda: json.dumps(_without(_document(), "evaluation.evaluated_at")).encode(),
                           "the 'evaluation.evaluated_at' field is missing"),
    "metrics not a sha256": (lambda: json.dumps(_with(_document(), "evaluation.metrics_sha256", True)).encode(),
                             "the 'evaluation.metrics_sha256' field is True, expected a string"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_a_file_that_breaks_the_schema_is_refused_naming_the_file_and_the_problem(case, tmp_path):
    make, problem = BROKEN[case]
    path = tmp_path / FILE_NAME
    path.write_bytes(make())
    with pytest.raises(ThresholdsFileError) as refused:
        read_thresholds(str(path), ADVICE)
    message = str(refused.value)
    assert message.startswith(f"{path}: not a valid operating thresholds file: {problem}")
    assert message.endswith("; pass --threshold X")


def test_no_library_component_or_command_code_guesses_where_an_evaluation_lies():
    """An extra to predict's tests: the guess this contract replaced climbed from a model's folder to
    `<run>/evaluate/evaluation/metrics.json`, kfp.local's task and output folders. Only `pipelines/`, which
    runs kfp.local and reads its run's outputs for the summary it prints, may know that layout."""
    guess = re.compile(r"""join\(.*?["'](evaluate|evaluation|\.\.)["']|os\.pardir""")
    found = [f"{path.relative_to(REPO)}:{number}: {line.strip()}"
             for folder in ("fracdet_core", "components", "fracdet") for path in sorted((REPO / folder).rglob("*.py"))
             for number, line in enumerate(path.read_text().splitlines(), start=1) if guess.search(line)]
    assert found == []
