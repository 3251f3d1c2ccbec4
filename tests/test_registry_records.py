"""Damaged registry files (alias, metadata.json, claims) are clear errors naming the file and the problem, never tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from registry_builders import evaluation_of, stand_in_model

from fracdet import main
from fracdet_core.errors import ConfigError
from fracdet_core.registry.aliases import promote, read_alias
from fracdet_core.registry.claims import claim_version
from fracdet_core.registry.records import RegistryCorruptError
from fracdet_core.registry.run import register_model_version
from fracdet_core.registry.versions import list_versions


@pytest.fixture
def registry(tmp_path) -> Path:
    """Versions 1 and 2 of stand-in models, version 2 the champion (promoted after 1)."""
    root = tmp_path / "registry"
    for index in (1, 2):
        model = stand_in_model(tmp_path / f"model{index}", f"stand-in {index}")
        register_model_version(model, evaluation_of(model, tmp_path / f"eval{index}"), str(root), "fracdet")
        promote(str(root), "fracdet", index)
    return root


def _metadata(registry: Path, **changes: object) -> str:
    record = json.loads((registry / "fracdet" / "versions" / "1" / "metadata.json").read_text())
    return json.dumps({key: value for key, value in {**record, **changes}.items() if value is not None})


@pytest.mark.parametrize(("relative", "content", "problem"), [
    ("aliases/champion", '{"alias": "champion", "version": 2, "st', "not valid JSON"),
    ("aliases/champion", "", "not valid JSON"),
    ("aliases/champion", "[1, 2]", "a JSON object was expected, found list"),
    ("aliases/champion", '{"version": "2", "stack": [1, 2], "history": []}',
     "the 'version' field is '2', expected a whole number or null"),
    ("aliases/champion", '{"version": 1, "stack": [1, 2], "history": []}',
     "the 'version' field 1 is not the last of its 'stack' [1, 2]"),
    ("aliases/champion", '{"version": 2, "stack": [1, "../2"], "history": []}', "is not a list of version numbers"),
    ("aliases/champion", '{"version": 2, "stack": [1, 2]}', "the 'history' field is missing"),
])
def test_a_damaged_alias_is_named_with_its_problem(registry, capsys, relative, content, problem):
    damaged = registry / "fracdet" / relative
    damaged.write_text(content)
    for command in (["registry", "list"], ["registry", "promote", "1"], ["registry", "rollback"]):
        assert main([*command, "--registry", str(registry)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"fracdet registry: error: {damaged}: damaged registry file: ") and problem in err, err
    with pytest.raises(RegistryCorruptError, match="restore it from a backup or repair it by hand"):
        read_alias(str(registry), "fracdet")


@pytest.mark.parametrize(("content", "problem"), [
    (lambda registry: '{"name": "fracdet", "version": 1, "crea', "not valid JSON"),
    (lambda registry: '"metadata"', "a JSON object was expected, found str"),
    (lambda registry: _metadata(registry, model_sha256=None), "the 'model_sha256' field is missing"),
    (lambda registry: _metadata(registry, metrics=[]), "the 'metrics' field is [], expected a JSON object"),
    (lambda registry: _metadata(registry, version=True), "the 'version' field is True, expected a whole number"),
    (lambda registry: _metadata(registry, version=2), "it describes 'fracdet' version 2, not 'fracdet' version 1"),
    (lambda registry: _metadata(registry, name="other"), "it describes 'other' version 1, not 'fracdet' version 1"),
])
def test_a_damaged_metadata_file_is_named_with_its_problem(registry, capsys, content, problem):
    damaged = registry / "fracdet" / "versions" / "1" / "metadata.json"
    damaged.write_text(content(registry))
    for command in (["registry", "list"], ["registry", "show", "1"], ["registry", "promote", "1"]):
        assert main([*command, "--registry", str(registry)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"fracdet registry: error: {damaged}: damaged registry file: ") and problem in err, err
    with pytest.raises(RegistryCorruptError):
        list_versions(str(registry), "fracdet")


@pytest.mark.parametrize(("content", "problem"), [
    ('{"claimed_at": "2026-', "not valid JSON"),
    ('{"model_sha256": "ab"}', "the 'claimed_at' field is missing"),
    ('{"claimed_at": "yesterday"}', "the 'claimed_at' field is 'yesterday', expected an ISO 8601 time"),
    ('{"claimed_at": "2026-01-01T00:00:00"}', "has no timezone"),
])
def test_a_damaged_claim_of_an_incomplete_version_is_named_with_its_problem(registry, capsys, content, problem):
    version = claim_version(str(registry), "fracdet", {"claimed_at": "2026-01-01T00:00:00+00:00"})
    damaged = registry / "fracdet" / "claims" / f"{version}.json"
    damaged.write_text(content)
    for command in (["registry", "list"], ["registry", "clean"]):
        assert main([*command, "--registry", str(registry)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"fracdet registry: error: {damaged}: damaged registry file: ") and problem in err, err


def test_a_damaged_evaluation_is_an_error_naming_it(tmp_path):
    model = stand_in_model(tmp_path / "model", "stand-in")
    evaluation = Path(evaluation_of(model, tmp_path / "eval"))
    (evaluation / "blessing.json").write_text('{"blessed": tr')
    with pytest.raises(ConfigError, match=f"{evaluation / 'blessing.json'}: not valid JSON"):
        register_model_version(model, str(evaluation), str(tmp_path / "registry"), "fracdet")
    assert not (tmp_path / "registry").exists()
