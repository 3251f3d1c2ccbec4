"""Lineage: the commit of the code that registers a version, recorded in its metadata."""

from __future__ import annotations

import configparser
import os
import subprocess


def git_commit() -> str | None:
    """The commit of the code that runs, recorded in each version's metadata for lineage.

    `FRACDET_GIT_COMMIT` when set: the images bake in the commit they were built from. Else, when
    this package is the `fracdet_core` folder of a fracdet git checkout (an editable install), that
    checkout's HEAD, with "-dirty" when its work tree differs from it, as `make images` marks an
    image. Else None: an installed copy must not report the commit of whatever repository its
    site-packages happens to lie in.
    """
    if os.environ.get("FRACDET_GIT_COMMIT"):
        return os.environ["FRACDET_GIT_COMMIT"]
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    top = _git(package, "rev-parse", "--show-toplevel")
    if not top or not _is_fracdet_checkout(top, package):
        return None
    head, status = _git(top, "rev-parse", "HEAD"), _git(top, "status", "--porcelain")
    if not head or status is None:
        return None
    return f"{head}-dirty" if status else head


def _git(folder: str, *args: str) -> str | None:
    """git's stripped output, run in `folder`; None when git is missing or fails (not a checkout)."""
    try:
        result = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10, cwd=folder)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def _is_fracdet_checkout(top: str, package: str) -> bool:
    """Whether `package` is the `fracdet_core` folder at the top of a checkout whose setup.cfg names fracdet."""
    if os.path.realpath(os.path.join(top, "fracdet_core")) != os.path.realpath(package):
        return False
    setup = configparser.ConfigParser(interpolation=None)
    try:
        setup.read(os.path.join(top, "setup.cfg"), encoding="utf-8")
    except (OSError, UnicodeDecodeError, configparser.Error):
        return False
    return setup.get("metadata", "name", fallback=None) == "fracdet"
