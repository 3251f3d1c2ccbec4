"""The code's contracts (pyproject.toml) pass, and fail when broken: `make lint` runs the same two tools.

Each breaking test works on a copy of the packages in a temporary folder, placed first on the
import path, so the checkout is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Installed package name -> the folder that holds it (setup.cfg's package_dir).
PACKAGES = {"fracdet": "fracdet", "fracdet_core": "fracdet_core", "fracdet_components": "components",
            "fracdet_pipelines": "pipelines"}


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=root, env=environment,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> Path:
    """The four packages under their installed names, with the project's contracts."""
    root = tmp_path_factory.mktemp("contracts")
    for name, folder in PACKAGES.items():
        shutil.copytree(REPO / folder, root / name, ignore=shutil.ignore_patterns("__pycache__", "Dockerfile*"))
    shutil.copy(REPO / "pyproject.toml", root)
    return root


@pytest.fixture
def broken(copy, tmp_path) -> Path:
    """A fresh copy to break."""
    root = tmp_path / "broken"
    shutil.copytree(copy, root)
    return root


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def test_the_checkout_keeps_every_layer_contract(copy):
    result = lint_imports(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("statement", [
    "import kfp\n",
    "\n\ndef _late():\n    from fracdet_components.artifacts import artifact_location\n    return artifact_location\n",
])
def test_the_library_importing_the_orchestrator_breaks_a_contract(broken, statement):
    append(broken / "fracdet_core" / "classes.py", statement)
    result = lint_imports(broken)
    assert result.returncode != 0
    assert "The library knows no orchestrator BROKEN" in result.stdout, result.stdout


def test_a_component_importing_another_breaks_a_contract(broken):
    append(broken / "fracdet_components" / "eda.py", "from fracdet_components.ingest import ingest as _ingest\n")
    result = lint_imports(broken)
    assert "Components do not import each other BROKEN" in result.stdout, result.stdout


def test_a_cycle_between_library_packages_breaks_a_contract(broken):
    # predict reads models through registry references; registry reaching back closes a loop.
    append(broken / "fracdet_core" / "registry" / "names.py",
           "\n\ndef _late():\n    from fracdet_core.predict import model\n    return model\n")
    result = lint_imports(broken)
    assert result.returncode != 0
    assert "The library's packages form no cycle BROKEN" in result.stdout, result.stdout


def test_ruff_passes_and_refuses_the_folder_names_as_imports(tmp_path):
    result = subprocess.run([str(BIN / "ruff"), "check", "--no-cache", "."], cwd=REPO, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    stray = tmp_path / "stray.py"
    stray.write_text('"""A module that imports a component by its folder name."""\n\nimport components\n\nprint(components)\n')
    result = subprocess.run([str(BIN / "ruff"), "check", "--no-cache", "--config", str(REPO / "pyproject.toml"), str(stray)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "TID251" in result.stdout and "fracdet_components" in result.stdout, result.stdout
