"""The wheel installs every package the checkout holds, under names no other project takes.

setup.cfg lists the packages by hand (find cannot install components/ as fracdet_components), so
a new subpackage left off the list would be missing from the images without this test.
"""

from __future__ import annotations

import configparser
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The folders whose installed name differs from their own.
RENAMED = {"components": "fracdet_components", "pipelines": "fracdet_pipelines"}
TOP_LEVEL = {"fracdet", "fracdet_core", *RENAMED.values()}


def checkout_packages() -> set[str]:
    """Every package in the checkout, by the name it installs under."""
    names = set()
    for folder in ("fracdet", "fracdet_core", *RENAMED):
        for marker in (REPO / folder).rglob("__init__.py"):
            parts = list(marker.parent.relative_to(REPO).parts)
            parts[0] = RENAMED.get(parts[0], parts[0])
            names.add(".".join(parts))
    return names


def listed_packages() -> set[str]:
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    return {line.strip() for line in config["options"]["packages"].splitlines() if line.strip()}


def test_setup_cfg_lists_every_package_of_the_checkout():
    assert listed_packages() == checkout_packages()


@pytest.mark.slow
def test_the_wheel_holds_the_packages_under_their_installed_names(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp_path), str(REPO)], check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("fracdet-*.whl")
    files = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in files if name.endswith(".py")}
    assert top_level == TOP_LEVEL
    packages = {name.rsplit("/", 1)[0].replace("/", ".") for name in files if name.endswith("/__init__.py")}
    assert packages == checkout_packages()
    assert "fracdet_components/artifacts.py" in files
    entry_points = zipfile.ZipFile(wheel).read(next(name for name in files if name.endswith("entry_points.txt"))).decode()
    assert "fracdet = fracdet:main" in entry_points
