"""Registry references in both spellings: `<root>/<name>@<alias|N>` and `registry://<root>/<name>@<alias|N>`."""

from __future__ import annotations

import pytest
from registry_builders import evaluation_of, stand_in_model

from fracdet_core.errors import ConfigError, NotFoundError
from fracdet_core.registry.aliases import promote
from fracdet_core.registry.interface import RegistryVersion
from fracdet_core.registry.layout import saved_model_uri
from fracdet_core.registry.refs import is_registry_reference, locate, read_location, resolve, version_reference
from fracdet_core.registry.run import register_model_version


@pytest.fixture
def root(tmp_path) -> str:
    """A registry holding versions 1 and 2 of `fracdet`, version 2 the champion.

    Reference resolution reads only the registry's layout, so the SavedModels are stand-in files.
    """
    for index in (1, 2):
        model = stand_in_model(tmp_path / f"model{index}", f"stand-in {index}")
        register_model_version(model, evaluation_of(model, tmp_path / f"eval{index}"), str(tmp_path / "registry"), "fracdet")
    promote(str(tmp_path / "registry"), "fracdet", 2)
    return str(tmp_path / "registry")


def _which(found: RegistryVersion) -> tuple[str, str, int]:
    return found.root, found.name, found.version


@pytest.mark.parametrize("prefix", ["", "registry://"])
def test_both_spellings_name_the_same_versions(root, prefix):
    assert resolve(f"{prefix}{root}/fracdet@champion") == saved_model_uri(root, "fracdet", 2)
    assert resolve(f"{prefix}{root}/fracdet@1") == saved_model_uri(root, "fracdet", 1)
    assert _which(locate(f"{prefix}{root}/fracdet@champion")) == (root, "fracdet", 2)
    assert resolve(f"{prefix}{root}/fracdet@staging", missing_ok=True) is None
    with pytest.raises(NotFoundError, match="no version 7"):
        resolve(f"{prefix}{root}/fracdet@7")


def test_a_built_reference_names_the_champion_or_a_version(root):
    assert _which(locate(version_reference(root, "fracdet"))) == (root, "fracdet", 2)
    assert _which(locate(version_reference(root, "fracdet", "1"))) == (root, "fracdet", 1)
    with pytest.raises(ConfigError, match="model name"):
        version_reference(root, "../fracdet")


def test_a_plain_uri_is_a_model_and_a_registry_uri_without_a_target_is_an_error(tmp_path):
    plain = str(tmp_path / "runs" / "train")
    assert (is_registry_reference(plain), resolve(plain), locate(plain)) == (False, plain, None)
    assert is_registry_reference("registry://runs/registry/fracdet")
    with pytest.raises(ConfigError, match=r"registry://runs/registry/fracdet: a registry reference reads registry://<root>/<name>@"):
        resolve("registry://runs/registry/fracdet")


@pytest.mark.parametrize(("target", "message"), [
    ("0", "a version number is a whole number from 1 up, got 0"),
    ("-champion", "alias '-champion' must be 1-63 letters"),
    ("_", "alias '_' must be 1-63 letters"),
])
def test_a_reference_to_no_possible_version_or_alias_is_an_error(root, target, message):
    with pytest.raises(ConfigError, match=message):
        resolve(f"{root}/fracdet@{target}")


@pytest.mark.parametrize(("reference", "expected"), [
    ("runs/registry/fracdet@champion", "runs/registry/fracdet"),
    ("registry://gs://bucket/registry/fracdet@3", "gs://bucket/registry/fracdet"),
    ("registry:///srv/registry/fracdet@2", "/srv/registry/fracdet"),
    ("runs/train", "runs/train"),  # a plain model URI reads from itself
])
def test_a_reference_reads_from_its_model_folder_in_the_registry(reference, expected):
    assert read_location(reference) == expected


@pytest.mark.parametrize(("reference", "message"), [
    ("models:/fracdet", "an MLflow model reference reads models:/<name>@<alias> or models:/<name>/<version>"),
    ("models:/fracdet@", "an MLflow model reference reads"),
    ("models:/Fracdet@champion", "an MLflow model reference reads"),
])
def test_a_malformed_mlflow_reference_is_an_error(reference, message):
    assert is_registry_reference(reference)
    with pytest.raises(ConfigError, match=message):
        resolve(reference)


@pytest.mark.parametrize("reference", ["models:/fracdet@champion", "mlflow://127.0.0.1:5000/fracdet@3"])
def test_a_version_on_an_mlflow_server_reads_from_no_folder_of_the_registry(reference):
    assert is_registry_reference(reference) and read_location(reference) == reference
