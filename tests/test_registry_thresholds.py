"""A version keeps the operating thresholds its evaluation chose: byte for byte, recorded, read back checked;
thresholds of another model or another evaluation, or none, are refused before a number is claimed."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from registry_builders import evaluation_of, stand_in_model, write_operating_thresholds

from fracdet import main
from fracdet_core import storage
from fracdet_core.operating_thresholds import FILE_NAME, ThresholdsFileError, parse_thresholds
from fracdet_core.registry.layout import version_uri
from fracdet_core.registry.records import RegistryCorruptError
from fracdet_core.registry.run import register_model_version
from fracdet_core.registry.thresholds import version_thresholds
from fracdet_core.registry.verify import ModelMismatchError
from fracdet_core.registry.versions import get_version


@pytest.fixture
def evaluated(tmp_path) -> tuple[str, Path]:
    """A stand-in model and its evaluation, whose operating thresholds are HAND 0.4, every other part 0.5."""
    model = stand_in_model(tmp_path / "model", "a model")
    return model, Path(evaluation_of(model, tmp_path / "evaluation", blessed=True))


def test_the_version_keeps_the_file_byte_for_byte_and_records_it(evaluated, storage_root):
    model, evaluation = evaluated
    written = (evaluation / FILE_NAME).read_bytes()
    metadata, _ = register_model_version(model, str(evaluation), storage_root, "fracdet")
    kept = storage.join(version_uri(storage_root, "fracdet", 1), FILE_NAME)
    assert storage.read_bytes(kept) == written
    assert metadata["operating_thresholds"] == {
        "file": "operating_thresholds.json", "sha256": hashlib.sha256(written).hexdigest(), "schema_version": 1,
        "rule": {"method": "split_conformal", "target_sensitivity": 0.9, "split": "val", "calibration_images": 8,
                 "calibration_fractured": 4}}
    assert get_version(storage_root, "fracdet", 1) == metadata  # as metadata.json holds it
    uri, chosen = version_thresholds(metadata, storage_root)
    assert uri == kept and chosen == parse_thresholds(written, "written", "")
    assert (dict(chosen.by_body_part), chosen.overall) == ({"HAND": 0.4}, 0.5)
    card = storage.read_text(storage.join(version_uri(storage_root, "fracdet", 1), "model_card.md"))
    assert f"the thresholds in operating_thresholds.json beside this card (sha256 {hashlib.sha256(written).hexdigest()}" in card


def test_a_version_2_file_with_the_definite_point_is_kept_byte_for_byte_and_its_rule_recorded(evaluated, storage_root):
    model, evaluation = evaluated
    written = write_operating_thresholds(evaluation, {"HAND": 0.4}, 0.5, ({"HAND": 0.7}, 0.8))
    metadata, _ = register_model_version(model, str(evaluation), storage_root, "fracdet")
    kept = storage.join(version_uri(storage_root, "fracdet", 1), FILE_NAME)
    assert storage.read_bytes(kept) == written and json.loads(written)["schema_version"] == 2
    record = metadata["operating_thresholds"]
    assert (record["schema_version"], record["definite_rule"]) == (2, {
        "method": "split_conformal", "target_specificity": 0.95, "calibration_normal": 4, "min_normal_images": 19})
    _, chosen = version_thresholds(metadata, storage_root)
    assert (chosen.definite_for_part("HAND"), chosen.definite_for_part("ELBOW"), chosen.in_scope_threshold) == (0.7, 0.8, None)
    card = storage.read_text(storage.join(version_uri(storage_root, "fracdet", 1), "model_card.md"))
    assert "for a target specificity of 0.95 over 4 normal calibration images" in card


def test_thresholds_named_apart_from_the_evaluation_are_the_ones_kept(evaluated, tmp_path):
    """As the pipeline's register task gets them: the evaluate task's operating_thresholds artifact, a file of its own."""
    model, evaluation = evaluated
    artifact = tmp_path / "evaluate" / "operating_thresholds"
    artifact.parent.mkdir()
    shutil.copy(evaluation / FILE_NAME, artifact)
    (evaluation / FILE_NAME).unlink()  # were the evaluation's own file read, registration would fail
    metadata, _ = register_model_version(model, str(evaluation), str(tmp_path / "registry"), "fracdet",
                                         operating_thresholds_uri=str(artifact))
    assert Path(metadata["uri"], FILE_NAME).read_bytes() == artifact.read_bytes()


def test_thresholds_chosen_for_another_model_are_refused_and_nothing_is_published(evaluated, tmp_path):
    model, evaluation = evaluated
    other = stand_in_model(tmp_path / "other", "another model")
    other_sha256 = storage.tree_sha256(f"{other}/saved_model")
    # Tied to this evaluation's metrics.json; only the model they name differs.
    document = json.loads((evaluation / FILE_NAME).read_text())
    (evaluation / FILE_NAME).write_text(json.dumps(document | {"model_sha256": other_sha256}))
    with pytest.raises(ModelMismatchError) as refused:
        register_model_version(model, str(evaluation), str(tmp_path / "registry"), "fracdet")
    assert str(refused.value).startswith(
        f"the operating thresholds {evaluation / FILE_NAME} were chosen for another model: they name model_sha256 "
        f"{other_sha256}, but the model being registered, {model}/saved_model, has sha256 "
        f"{storage.tree_sha256(f'{model}/saved_model')}")
    assert not (tmp_path / "registry").exists()


def test_thresholds_of_another_evaluation_of_the_same_model_are_refused(evaluated, tmp_path):
    model, evaluation = evaluated
    earlier = (evaluation / FILE_NAME).read_bytes()
    metrics = json.loads((evaluation / "metrics.json").read_text())
    (evaluation / "metrics.json").write_text(json.dumps(metrics | {"map50": 0.75}))  # evaluated again: other metrics
    with pytest.raises(ModelMismatchError, match=r"come from another evaluation than .*metrics\.json: they name its "
                                                 r"metrics\.json sha256 [0-9a-f]{64}, but .* has sha256 [0-9a-f]{64}"):
        register_model_version(model, str(evaluation), str(tmp_path / "registry"), "fracdet")
    assert (evaluation / FILE_NAME).read_bytes() == earlier and not (tmp_path / "registry").exists()


def test_an_evaluation_without_thresholds_or_with_a_broken_file_is_refused_by_the_cli(evaluated, tmp_path, capsys):
    model, evaluation = evaluated
    registry = tmp_path / "registry"
    command = ["register", "--model", model, "--eval", str(evaluation), "--registry", str(registry)]
    (evaluation / FILE_NAME).write_text('{"schema": "fracdet.operating_thresholds", "schema_version": 1}')
    assert main(command) == 2
    assert capsys.readouterr().err == (
        f"fracdet register: error: {evaluation / FILE_NAME}: not a valid operating thresholds file: the 'model_sha256' field "
        "is missing; register the output of `fracdet evaluate` run on this model, which writes operating_thresholds.json\n")
    (evaluation / FILE_NAME).unlink()
    assert main(command) == 2
    assert capsys.readouterr().err == (
        f"fracdet register: error: {evaluation / FILE_NAME}: no operating thresholds file there; register the output of "
        "`fracdet evaluate` run on this model, which writes operating_thresholds.json\n")
    assert not registry.exists()


def test_a_kept_file_changed_or_lost_after_registration_is_reported_as_damage(evaluated, storage_root):
    model, evaluation = evaluated
    metadata, _ = register_model_version(model, str(evaluation), storage_root, "fracdet")
    kept = storage.join(version_uri(storage_root, "fracdet", 1), FILE_NAME)
    recorded = storage.join(version_uri(storage_root, "fracdet", 1), "metadata.json")
    storage.write_bytes(kept, storage.read_bytes(kept).replace(b"0.4", b"0.1"))
    with pytest.raises(RegistryCorruptError) as changed:
        version_thresholds(metadata, storage_root)
    assert str(changed.value).startswith(
        f"{kept}: damaged registry file: its sha256 is {hashlib.sha256(storage.read_bytes(kept)).hexdigest()}, but "
        f"{recorded} recorded {metadata['operating_thresholds']['sha256']}")
    storage.remove(kept)
    with pytest.raises(RegistryCorruptError, match=f"{recorded}: damaged registry file: it records operating thresholds, "
                                                   f"but {kept} is missing"):
        version_thresholds(metadata, storage_root)


def test_a_kept_file_that_breaks_the_schema_names_itself(evaluated, tmp_path):
    model, evaluation = evaluated
    metadata, _ = register_model_version(model, str(evaluation), str(tmp_path / "registry"), "fracdet")
    kept = Path(metadata["uri"], FILE_NAME)
    kept.write_bytes(b"[]")
    record = metadata["operating_thresholds"] | {"sha256": hashlib.sha256(b"[]").hexdigest()}
    with pytest.raises(ThresholdsFileError, match=f"{kept}: not a valid operating thresholds file: a JSON object was expected"):
        version_thresholds(metadata | {"operating_thresholds": record}, str(tmp_path / "registry"))


def test_a_version_registered_before_versions_kept_thresholds_has_none(evaluated, tmp_path):
    model, evaluation = evaluated
    metadata, _ = register_model_version(model, str(evaluation), str(tmp_path / "registry"), "fracdet")
    earlier = {key: value for key, value in metadata.items() if key != "operating_thresholds"}
    assert version_thresholds(earlier, str(tmp_path / "registry")) is None
