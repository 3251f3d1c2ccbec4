"""The container images: both Dockerfiles lint clean with hadolint, are pinned and non-root, the GPU
image's requirements come from requirements.lock, and `make images` names and builds both (or
says clearly that it cannot). Docker itself is not needed: nothing here builds an image.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from components.image import FRACDET_GPU_IMAGE, FRACDET_IMAGE, GPU_TAG_SUFFIX, gpu_image
from fracdet_core import __version__
from fracdet_core.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
HADOLINT = str(Path(sys.executable).with_name("hadolint"))
DOCKERFILES = {"cpu": REPO / "components" / "Dockerfile", "gpu": REPO / "components" / "Dockerfile.gpu"}
# An exact Python patch release on a named Debian release, or any image pinned by digest.
PINNED_BASE = re.compile(r"^(python:3\.11\.\d+-slim-bookworm|[^@\s]+@sha256:[0-9a-f]{64})$")


def hadolint(path: Path) -> subprocess.CompletedProcess:
    """hadolint with every finding, down to style, counted as a failure."""
    return subprocess.run([HADOLINT, "--no-color", "--failure-threshold", "style", str(path)],
                          capture_output=True, text=True, timeout=60)


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments dropped."""
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined.splitlines() if line.strip()]


@pytest.mark.parametrize("variant", sorted(DOCKERFILES))
def test_dockerfile_passes_hadolint(variant: str) -> None:
    result = hadolint(DOCKERFILES[variant])
    assert result.returncode == 0, f"hadolint {DOCKERFILES[variant].name}:\n{result.stdout}{result.stderr}"


def test_hadolint_rejects_a_careless_dockerfile(tmp_path: Path) -> None:
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM python:latest\nRUN pip install requests\n")
    result = hadolint(careless)
    assert result.returncode != 0
    assert {"DL3007", "DL3013", "DL3042"} <= set(re.findall(r"DL\d{4}", result.stdout)), result.stdout


@pytest.mark.parametrize("variant", sorted(DOCKERFILES))
def test_base_images_are_pinned_and_the_image_runs_as_a_numeric_non_root_user(variant: str) -> None:
    steps = instructions(DOCKERFILES[variant])
    bases = [args.split()[0] for name, args in steps if name == "FROM"]
    assert bases and all(PINNED_BASE.match(base) for base in bases), bases
    final_stage = steps[max(i for i, (name, _) in enumerate(steps) if name == "FROM"):]
    users = [args.strip() for name, args in final_stage if name == "USER"]
    assert users and users[-1].isdigit() and int(users[-1]) != 0, f"last USER of the final stage: {users}"


def test_both_images_share_one_base_and_install_the_package_the_same_way() -> None:
    cpu, gpu = (instructions(DOCKERFILES[variant]) for variant in ("cpu", "gpu"))
    assert [args for name, args in cpu if name == "FROM"] == [args for name, args in gpu if name == "FROM"]
    def package_steps(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [step for step in steps if step[0] in ("COPY", "USER", "WORKDIR") or "wheel" in step[1]]

    assert package_steps(cpu) == package_steps(gpu)


def test_the_gpu_requirements_are_the_lock_with_tensorflow_swapped_for_its_cuda_build(tmp_path: Path) -> None:
    """Runs the Dockerfile's own sed expression on requirements.lock."""
    [expression] = re.findall(r"sed '([^']+)' /tmp/requirements\.lock", DOCKERFILES["gpu"].read_text())
    lock = (REPO / "requirements.lock").read_text().splitlines()
    sed = subprocess.run(["sed", expression, str(REPO / "requirements.lock")], capture_output=True, text=True, check=True)
    swapped = sed.stdout.splitlines()
    [version] = [line.split("==")[1] for line in lock if line.startswith("tensorflow-cpu==")]
    changed = [(before, after) for before, after in zip(lock, swapped, strict=True) if before != after]
    assert changed == [(f"tensorflow-cpu=={version}", f"tensorflow[and-cuda]=={version}")]


def test_dockerignore_sends_what_the_images_copy_and_nothing_else() -> None:
    rules = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert rules[0] == "*", "the context starts empty; the images' inputs are let in one by one"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    copied = set()
    for path in DOCKERFILES.values():
        for name, args in instructions(path):
            if name == "COPY" and "--from" not in args:
                copied.update(args.split()[:-1])
            copied.update(re.findall(r"--mount=type=bind,source=([^,\s]+)", args) if name == "RUN" else [])
    assert copied == allowed


def test_the_gpu_image_is_the_cpu_tag_plus_a_suffix() -> None:
    assert FRACDET_IMAGE == f"ghcr.io/fracdet/fracdet:{__version__}"
    assert FRACDET_GPU_IMAGE == f"{FRACDET_IMAGE}{GPU_TAG_SUFFIX}"
    assert gpu_image("localhost:5000/team/fracdet:3f2a9c1") == "localhost:5000/team/fracdet:3f2a9c1-gpu"


@pytest.mark.parametrize("image", ["localhost:5000/fracdet", "ghcr.io/fracdet/fracdet@sha256:" + "0" * 64, "fracdet"])
def test_an_image_without_a_tag_has_no_gpu_twin(image: str) -> None:
    with pytest.raises(ConfigError, match="REPOSITORY:TAG"):
        gpu_image(image)


def make(*args: str, **env: str) -> subprocess.CompletedProcess:
    """A fresh top-level make, whether or not the tests themselves run under `make test`."""
    clean = {key: value for key, value in os.environ.items() if key not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    return subprocess.run(["make", "--no-print-directory", *args], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**clean, **env})


def test_make_images_builds_both_dockerfiles_with_the_tags_the_components_use() -> None:
    result = make("-n", "images")
    assert result.returncode == 0, result.stderr
    assert f"docker build -f components/Dockerfile -t {FRACDET_IMAGE} ." in result.stdout.splitlines()
    assert f"docker build -f components/Dockerfile.gpu -t {FRACDET_GPU_IMAGE} ." in result.stdout.splitlines()
    renamed = make("-n", "images", "IMAGE=registry.example/fracdet:abc123")
    assert "docker build -f components/Dockerfile.gpu -t registry.example/fracdet:abc123-gpu ." in renamed.stdout.splitlines()


def test_make_images_fails_clearly_without_a_docker_daemon(tmp_path: Path) -> None:
    result = make("images", DOCKER_HOST=f"unix://{tmp_path}/no-daemon.sock")
    assert result.returncode == 2
    assert "nothing was built" in result.stderr
