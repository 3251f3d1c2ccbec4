"""Every name that becomes a registry path segment, checked: the edge cases of each pattern, and the paths built with them."""

from __future__ import annotations

import pytest

from fracdet_core.errors import ConfigError
from fracdet_core.registry.layout import alias_uri, claim_uri, run_folder, version_uri
from fracdet_core.registry.names import check_alias, check_name, check_run_id, check_version

GOOD, BAD = True, False


@pytest.mark.parametrize(("value", "good"), [
    ("fracdet", GOOD), ("a", GOOD), ("0", GOOD), ("fracdet-v2.1_b", GOOD), ("a" * 63, GOOD),
    ("", BAD), (".", BAD), ("..", BAD), ("../escaped", BAD), ("a/b", BAD), (".hidden", BAD), ("-x", BAD), ("Fracdet", BAD),
    ("a" * 64, BAD), ("fracdet\n", BAD), ("frac det", BAD), (None, BAD), (3, BAD),
])
def test_model_names(value, good):
    if good:
        assert check_name(value) == value
    else:
        with pytest.raises(ConfigError, match="model name"):
            check_name(value)


@pytest.mark.parametrize(("value", "good"), [
    ("run-7", GOOD), ("7c1e4a52-0d8b-4bd1-9e53-6f3ac1b9d2a0", GOOD), ("Run.1_a", GOOD), ("r" * 128, GOOD),
    ("", BAD), (".", BAD), ("..", BAD), ("../escaped", BAD), ("a/b", BAD), ("a\\b", BAD), (".run", BAD), ("r" * 129, BAD),
    ("run\n", BAD), (None, BAD),
])
def test_run_ids(value, good):
    if good:
        assert check_run_id(value) == value
    else:
        with pytest.raises(ConfigError, match="run ID"):
            check_run_id(value)


@pytest.mark.parametrize(("value", "good"), [
    ("champion", GOOD), ("Staging-2", GOOD), ("a_b", GOOD), ("a" * 63, GOOD),
    ("", BAD), ("3", BAD), ("..", BAD), ("a/b", BAD), ("_x", BAD), ("a.b", BAD), ("a" * 64, BAD), (None, BAD),
])
def test_aliases(value, good):
    if good:
        assert check_alias(value) == value
    else:
        with pytest.raises(ConfigError, match="alias"):
            check_alias(value)


@pytest.mark.parametrize(("value", "good"), [
    (1, GOOD), (10**6, GOOD), (0, BAD), (-1, BAD), (True, BAD), ("3", BAD), (1.0, BAD), (None, BAD),
])
def test_version_numbers(value, good):
    if good:
        assert check_version(value) == value
    else:
        with pytest.raises(ConfigError, match="version number"):
            check_version(value)


def test_paths_are_built_only_from_checked_segments():
    assert version_uri("gs://b/registry", "fracdet", 3) == "gs://b/registry/fracdet/versions/3"
    assert claim_uri("/r", "fracdet", 3) == "/r/fracdet/claims/3.json"
    assert alias_uri("/r", "fracdet", "champion") == "/r/fracdet/aliases/champion"
    assert run_folder("/r", "fracdet", "run-7") == "/r/fracdet/runs/run-7"
    for build in (lambda: version_uri("/r", "..", 3), lambda: version_uri("/r", "fracdet", 0),
                  lambda: claim_uri("/r", "fracdet", "../x"), lambda: alias_uri("/r", "fracdet", "../champion"),
                  lambda: run_folder("/r", "fracdet", "..")):
        with pytest.raises(ConfigError):
            build()
