"""Registry references in both spellings: `<root>/<name>@<alias|N>` and `registry://<root>/<name>@<alias|N>`."""

from __future__ import annotations

import json

import pytest

from fracdet_core.errors import ConfigError, NotFoundError
from fracdet_core.registry.aliases import promote
from fracdet_core.registry.refs import RegistryVersion, is_registry_reference, locate, resolve
from fracdet_core.registry.versions import register, saved_model_uri


@pytest.fixture
def root(tmp_path) -> str:
    """A registry holding versions 1 and 2 of `fracdet`, version 2 the champion.

    Reference resolution reads only the registry's layout, so the SavedModels are stand-in files.
    """
    for index in (1, 2):
        model = tmp_path / f"model{index}" / "saved_model"
        model.mkdir(parents=True)
        (model / "saved_model.pb").write_bytes(b"stand-in %d" % index)
        evaluation = tmp_path / f"eval{index}"
        evaluation.mkdir()
        (evaluation / "metrics.json").write_text(json.dumps({"map50": 0.5}))
        register(str(model.parent), str(evaluation), str(tmp_path / "registry"), "fracdet")
    promote(str(tmp_path / "registry"), "fracdet", 2)
    return str(tmp_path / "registry")


@pytest.mark.parametrize("prefix", ["", "registry://"])
def test_both_spellings_name_the_same_versions(root, prefix):
    assert resolve(f"{prefix}{root}/fracdet@champion") == saved_model_uri(root, "fracdet", 2)
    assert resolve(f"{prefix}{root}/fracdet@1") == saved_model_uri(root, "fracdet", 1)
    assert locate(f"{prefix}{root}/fracdet@champion") == RegistryVersion(root, "fracdet", 2)
    assert resolve(f"{prefix}{root}/fracdet@staging", missing_ok=True) is None
    with pytest.raises(NotFoundError, match="no version 7"):
        resolve(f"{prefix}{root}/fracdet@7")


def test_a_plain_uri_is_a_model_and_a_registry_uri_without_a_target_is_an_error(tmp_path):
    plain = str(tmp_path / "runs" / "train")
    assert (is_registry_reference(plain), resolve(plain), locate(plain)) == (False, plain, None)
    assert is_registry_reference("registry://runs/registry/fracdet")
    with pytest.raises(ConfigError, match=r"registry://runs/registry/fracdet: a registry reference reads registry://<root>/<name>@"):
        resolve("registry://runs/registry/fracdet")
