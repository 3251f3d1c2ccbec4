"""Names that become path segments under a registry root, checked where the path is built.

A model name, a run ID, an alias or a version number comes from a user, a pipeline parameter
or a file, and ends up between two '/' of a registry URI. An empty string, '.', '..' or a '/'
there would read or write outside the registry, so each is matched against a closed pattern
(which never lets '.' or '..' through: every pattern starts with a letter or digit).
"""

from __future__ import annotations

import re

from fracdet_core.errors import ConfigError

_MODEL_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_ALIAS = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,62}")


def check_name(name: object) -> str:
    """Model names are path segments and Kubernetes names: lowercase letters, digits, '.', '_', '-'.

    Raises:
        ConfigError: anything else.
    """
    if not isinstance(name, str) or not _MODEL_NAME.fullmatch(name):
        raise ConfigError(
            f"model name {name!r} must be 1-63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def check_run_id(run_id: object) -> str:
    """A pipeline run ID (KFP's are UUIDs): letters, digits, '.', '_', '-', starting with a letter or digit.

    Raises:
        ConfigError: anything else, such as '', '..' or an ID holding '/'.
    """
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise ConfigError(f"a pipeline run ID of 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit, "
                          f"is needed to record a run's outcome, got {run_id!r}")
    return run_id


def check_alias(alias: object) -> str:
    """An alias such as `champion`: it starts with a letter, so `<name>@3` always means a version, never an alias.

    Raises:
        ConfigError: anything else.
    """
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):
        raise ConfigError(f"alias {alias!r} must be 1-63 letters, digits, '_' or '-', starting with a letter")
    return alias


def check_version(version: object) -> int:
    """A version number: a positive int (not a bool, not a string of digits).

    Raises:
        ConfigError: anything else.
    """
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ConfigError(f"a version number is a whole number from 1 up, got {version!r}")
    return version
