"""The operating thresholds file: what it holds, read back as written, and every way a file can break the schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fracdet_core.operating_thresholds import (
    FILE_NAME,
    SPLIT_CONFORMAL,
    DefiniteRule,
    EvaluationSource,
    Indications,
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
    definite_by_body_part={"ELBOW": 0.74, "FINGER": 0.6}, definite_overall=0.69,
    definite_rule=DefiniteRule(SPLIT_CONFORMAL, 0.95, calibration_normal=132, min_normal_images=19),
    indications=Indications(None, 0.99, 250),
)
ADVICE = "pass --threshold X"
REPO = Path(__file__).resolve().parents[1]


def _document() -> dict:
    """What `CHOSEN` writes, spelt out by hand: the schema of the module docstring."""
    return {
        "schema": "fracdet.operating_thresholds", "schema_version": 2, "model_sha256": SHA,
        "thresholds": {"by_body_part": {"ELBOW": 0.41, "HAND": 0.375}, "overall": 0.35},
        "rule": {"method": "split_conformal", "target_sensitivity": 0.9, "split": "val", "calibration_images": 250,
                 "calibration_fractured": 118},
        "definite": {"thresholds": {"by_body_part": {"ELBOW": 0.74, "FINGER": 0.6}, "overall": 0.69},
                     "rule": {"method": "split_conformal", "target_specificity": 0.95, "calibration_normal": 132,
                              "min_normal_images": 19}},
        "indications": {"in_scope_threshold": None, "target_in_scope_kept": 0.99, "calibration_in_scope_images": 250},
        "evaluation": {"metrics_sha256": "cd" * 32, "data": "gs://bucket/ingest", "data_manifest_sha256": "ef" * 32,
                       "evaluated_at": "2026-01-02T03:04:05+00:00"},
    }


def test_the_file_holds_the_schema_and_reads_back_as_written(tmp_path):
    assert json.loads(CHOSEN.encode()) == _document()
    (tmp_path / FILE_NAME).write_bytes(CHOSEN.encode())
    data, read = read_thresholds(str(tmp_path / FILE_NAME), ADVICE)
    assert data == CHOSEN.encode() and read == CHOSEN
    assert [read.for_part(part) for part in ("ELBOW", "HAND", "FINGER")] == [0.41, 0.375, 0.35]
    assert [read.definite_for_part(part) for part in ("ELBOW", "HAND", "FINGER")] == [0.74, 0.69, 0.6]
    assert read.in_scope_threshold is None


def test_an_in_scope_threshold_reads_back():
    document = _with(_document(), "indications.in_scope_threshold", 0.42)
    assert parse_thresholds(json.dumps(document).encode(), "t.json", ADVICE).in_scope_threshold == 0.42


def _version_1() -> dict:
    """A file a fracdet before the definite point wrote: version 2 without `definite` and `indications`."""
    document = _document() | {"schema_version": 1}
    del document["definite"], document["indications"]
    return document


def test_a_version_1_file_reads_as_the_suspicious_point_alone_without_an_in_scope_threshold():
    data = json.dumps(_version_1(), indent=2).encode() + b"\n"
    read = parse_thresholds(data, "t.json", ADVICE)
    assert read.encode() == data  # content read encodes back to its own version
    assert (dict(read.by_body_part), read.overall, read.rule) == (dict(CHOSEN.by_body_part), CHOSEN.overall, CHOSEN.rule)
    assert (dict(read.definite_by_body_part), read.definite_overall, read.definite_for_part("ELBOW")) == ({}, None, None)
    assert (read.definite_rule, read.indications, read.in_scope_threshold) == (None, None, None)


def test_no_definite_threshold_chosen_is_a_valid_file():
    document = _with(_document(), "definite.thresholds", {"by_body_part": {}, "overall": None})
    read = parse_thresholds(json.dumps(document).encode(), "t.json", ADVICE)
    assert (dict(read.definite_by_body_part), read.definite_overall, read.definite_for_part("HAND")) == ({}, None, None)


def test_no_threshold_chosen_is_a_valid_file():
    document = _document() | {"thresholds": {"by_body_part": {}, "overall": None}}
    document["definite"]["thresholds"] = {"by_body_part": {}, "overall": None}  # no call, so no definite call
    read = parse_thresholds(json.dumps(document).encode(), "t.json", ADVICE)
    assert (dict(read.by_body_part), read.overall, read.for_part("HAND")) == ({}, None, None)
    assert (read.definite_overall, read.definite_for_part("HAND")) == (None, None)


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
    "newer schema": (lambda: json.dumps(_with(_document(), "schema_version", 3)).encode(),
                     "schema_version 3: this fracdet reads schema versions 1 to 2 (a newer fracdet wrote it)"),
    "schema version as text": (lambda: json.dumps(_with(_document(), "schema_version", "1")).encode(),
                               "schema_version '1': this fracdet reads schema versions 1 to 2"),
    "version 2 without definite": (lambda: json.dumps(_without(_document(), "definite")).encode(),
                                   "the 'definite' field is missing"),
    "version 2 without indications": (lambda: json.dumps(_without(_document(), "indications")).encode(),
                                      "the 'indications' field is missing"),
    "definite below suspicious": (lambda: json.dumps(_with(_document(), "definite.thresholds.by_body_part.ELBOW", 0.4)).encode(),
                                  "the definite threshold of ELBOW (0.4) is below its suspicious threshold (0.41): "
                                  "a definite call must also be a call"),
    "definite overall below a part's suspicious": (
        lambda: json.dumps(_with(_document(), "definite.thresholds.overall", 0.36)).encode(),
        "the definite threshold of HAND (0.36) is below its suspicious threshold (0.375)"),
    "definite without a call": (
        lambda: json.dumps(_with(_with(_document(), "thresholds", {"by_body_part": {}, "overall": None}),
                                 "definite.thresholds", {"by_body_part": {}, "overall": 0.7})).encode(),
        "definite.thresholds.overall is set while thresholds.overall is null: a definite call needs a call"),
    "definite unknown part": (lambda: json.dumps(_with(_document(), "definite.thresholds.by_body_part.CHEST", 0.8)).encode(),
                              "definite.thresholds.by_body_part names CHEST, not a body part of"),
    "definite above 1": (lambda: json.dumps(_with(_document(), "definite.thresholds.overall", 1.01)).encode(),
                         "definite.thresholds.overall is 1.01, expected a score within [0, 1]"),
    "definite parts without overall": (lambda: json.dumps(_with(_document(), "definite.thresholds.overall", None)).encode(),
                                       "definite.thresholds.overall is null (no threshold chosen) while "
                                       "definite.thresholds.by_body_part holds some"),
    "definite target of 1.5": (lambda: json.dumps(_with(_document(), "definite.rule.target_specificity", 1.5)).encode(),
                               "definite.rule.target_specificity is 1.5, expected a value within (0, 1]"),
    "definite another rule": (lambda: json.dumps(_with(_document(), "definite.rule.method", "youden")).encode(),
                              "definite.rule.method is 'youden'; this fracdet knows 'split_conformal'"),
    "definite count missing": (lambda: json.dumps(_without(_document(), "definite.rule.calibration_normal")).encode(),
                               "the 'definite.rule.calibration_normal' field is missing"),
    "in-scope threshold missing": (lambda: json.dumps(_without(_document(), "indications.in_scope_threshold")).encode(),
                                   "the 'indications.in_scope_threshold' field is missing"),
    "in-scope threshold as text": (lambda: json.dumps(_with(_document(), "indications.in_scope_threshold", "0.5")).encode(),
                                   "indications.in_scope_threshold is '0.5', expected null or a score within [0, 1]"),
    "in-scope share of 0": (lambda: json.dumps(_with(_document(), "indications.target_in_scope_kept", 0)).encode(),
                            "indications.target_in_scope_kept is 0, expected a value within (0, 1]"),
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
