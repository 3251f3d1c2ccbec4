"""Lineage: a registered version records the commit of the code that registered it.

`git_commit()` is loaded from copies of `lineage.py` placed in git repositories this file builds
(a fracdet checkout, another project with fracdet in its site-packages, ...), so each case's
expected commit is the one the test itself made.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from model_builders import perfect_setup

from fracdet_core.evaluate.config import EvaluateConfig
from fracdet_core.evaluate.run import run_evaluation
from fracdet_core.registry import lineage

REPO = Path(__file__).resolve().parents[1]
FRACDET = str(Path(sys.executable).with_name("fracdet"))
LINEAGE = Path(lineage.__file__)
SITE_PACKAGES = Path(".venv", "lib", "python3.11", "site-packages")
COMMIT = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


def git(folder: Path, *args: str) -> str:
    identity = ["-c", "user.name=fracdet tests", "-c", "user.email=tests@fracdet.invalid", "-c", "commit.gpgsign=false"]
    result = subprocess.run(["git", *identity, *args], cwd=folder, capture_output=True, text=True, timeout=30, check=True)
    return result.stdout.strip()


def repository(folder: Path, setup_cfg: str) -> str:
    """A git repository at `folder` holding `setup.cfg` and whatever is already there, all committed; returns HEAD."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "setup.cfg").write_text(setup_cfg)
    git(folder, "init", "--quiet")
    git(folder, "add", "--all")
    git(folder, "commit", "--quiet", "--message", "fixture")
    return git(folder, "rev-parse", "HEAD")


def install(package_folder: Path) -> Path:
    """A copy of `fracdet_core/registry/lineage.py` under `package_folder` (a `fracdet_core` folder)."""
    target = package_folder / "registry" / "lineage.py"
    target.parent.mkdir(parents=True)
    shutil.copyfile(LINEAGE, target)
    return target


def git_commit_of(copy: Path) -> str | None:
    """`git_commit()` as the copy at `copy` answers it: it looks for git around its own file."""
    spec = importlib.util.spec_from_file_location(f"lineage_copy_{abs(hash(copy))}", copy)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.git_commit()


@pytest.fixture(autouse=True)
def no_commit_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FRACDET_GIT_COMMIT", "GIT_DIR", "GIT_WORK_TREE"):
        monkeypatch.delenv(name, raising=False)


def test_a_fracdet_checkout_reports_its_head_and_marks_uncommitted_changes(tmp_path: Path) -> None:
    checkout = tmp_path / "fracdet"
    copy = install(checkout / "fracdet_core")
    head = repository(checkout, (REPO / "setup.cfg").read_text())
    assert git_commit_of(copy) == head
    (checkout / "fracdet_core" / "new_module.py").write_text("")  # an untracked file an image would include
    assert git_commit_of(copy) == f"{head}-dirty"


@pytest.mark.parametrize("layout", ["site-packages of another project", "venv inside a fracdet checkout",
                                    "another project's own fracdet_core", "no repository"])
def test_a_copy_outside_a_fracdet_checkout_reports_no_commit(tmp_path: Path, layout: str) -> None:
    project = tmp_path / "project"
    package = project / ("fracdet_core" if layout == "another project's own fracdet_core" else SITE_PACKAGES / "fracdet_core")
    copy = install(package)
    if layout == "venv inside a fracdet checkout":
        repository(project, (REPO / "setup.cfg").read_text())
    elif layout != "no repository":
        repository(project, "[metadata]\nname = another-project\n")
    assert git_commit_of(copy) is None


def test_the_environment_variable_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = install(tmp_path / "project" / SITE_PACKAGES / "fracdet_core")
    repository(tmp_path / "project", "[metadata]\nname = another-project\n")
    monkeypatch.setenv("FRACDET_GIT_COMMIT", COMMIT)
    assert git_commit_of(copy) == COMMIT


@pytest.mark.slow
def test_a_registration_records_the_commit_its_image_was_built_with(tmp_path: Path) -> None:
    """`fracdet register` in a process whose environment has FRACDET_GIT_COMMIT, as the images' ENV sets it."""
    model, ingest = perfect_setup(tmp_path)
    evaluation, registry = tmp_path / "evaluation", tmp_path / "registry"
    run_evaluation(model, ingest, str(evaluation), config=EvaluateConfig(bootstrap_resamples=20, latency_repeats=1,
                                                                          show_progress=False))
    result = subprocess.run([FRACDET, "register", "--model", model, "--eval", str(evaluation), "--registry", str(registry)],
                            capture_output=True, text=True, timeout=300, env={**os.environ, "FRACDET_GIT_COMMIT": COMMIT})
    assert result.returncode == 0, result.stderr
    version = registry / "fracdet" / "versions" / "1"
    assert json.loads((version / "metadata.json").read_text())["git_commit"] == COMMIT
    assert f"commit {COMMIT}." in (version / "model_card.md").read_text()
