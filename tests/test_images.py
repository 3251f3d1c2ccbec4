"""The container images: both Dockerfiles lint clean with hadolint, are pinned and non-root, the GPU
image's requirements are requirements.lock's with TensorFlow built for CUDA, both carry the commit
they are built from, and `make images` names and builds both with Docker or buildah (or says clearly
that it cannot). Nothing here builds an image: tests/test_container.py (`make container-test`) does.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from fracdet_components.image import FRACDET_GPU_IMAGE, FRACDET_IMAGE, GPU_TAG_SUFFIX, gpu_image
from fracdet_core import __version__
from fracdet_core.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
HADOLINT = str(Path(sys.executable).with_name("hadolint"))
DOCKERFILES = {"cpu": REPO / "components" / "Dockerfile", "gpu": REPO / "components" / "Dockerfile.gpu"}
# An exact Python patch release on a named Debian release, or any image pinned by digest.
COMMIT = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
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


def base_images(path: Path) -> list[str]:
    """Each stage's FROM image as a build with no --build-arg sees it: `${ARG}` replaced by its default."""
    steps = instructions(path)
    first_stage = next(index for index, (name, _) in enumerate(steps) if name == "FROM")
    defaults = {key: value for name, args in steps[:first_stage] if name == "ARG" for key, value in key_values(args).items()}
    return [re.sub(r"\$\{(\w+)\}", lambda match: defaults[match[1]], args.split()[0]) for name, args in steps if name == "FROM"]


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
    assert next(args for name, args in steps if name == "FROM").split()[0] == "${BASE_IMAGE}"  # a build argument...
    bases = base_images(DOCKERFILES[variant])
    assert bases and all(PINNED_BASE.match(base) for base in bases), bases  # ...whose default is pinned
    final_stage = steps[max(i for i, (name, _) in enumerate(steps) if name == "FROM"):]
    users = [args.strip() for name, args in final_stage if name == "USER"]
    assert users and users[-1].isdigit() and int(users[-1]) != 0, f"last USER of the final stage: {users}"


def test_both_images_share_one_base_and_install_the_package_the_same_way() -> None:
    cpu, gpu = (instructions(DOCKERFILES[variant]) for variant in ("cpu", "gpu"))
    assert [args for name, args in cpu if name == "FROM"] == [args for name, args in gpu if name == "FROM"]
    def package_steps(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """What installs fracdet itself: everything but the lock each image installs its dependencies from."""
        return [step for step in steps if (step[0] in ("COPY", "USER", "WORKDIR") or "wheel" in step[1])
                and "requirements" not in step[1]]

    assert package_steps(cpu) == package_steps(gpu)


def requirement_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


def pins(path: Path) -> dict[str, str]:
    """name -> version of a pip-compile lock."""
    return dict(line.split("==") for line in requirement_lines(path) if not line.startswith(" "))


def test_the_gpu_requirements_are_requirements_in_with_tensorflow_built_for_cuda() -> None:
    """`make lock` writes requirements-gpu.in from requirements.in; it must not have been edited by hand since."""
    cpu = requirement_lines(REPO / "requirements.in")
    swapped = [re.sub(r"^tensorflow-cpu==", "tensorflow[and-cuda]==", line) for line in cpu]
    assert requirement_lines(REPO / "requirements-gpu.in") == ["-c requirements.lock", *swapped]
    assert any(line.startswith("tensorflow[and-cuda]==") for line in swapped)


def test_the_gpu_lock_pins_the_cpu_locks_versions_and_the_cuda_wheels() -> None:
    cpu, gpu = pins(REPO / "requirements.lock"), pins(REPO / "requirements-gpu.lock")
    assert gpu["tensorflow"] == cpu.pop("tensorflow-cpu")
    assert {name: gpu[name] for name in cpu} == cpu  # everything else at the CPU image's versions
    cuda = {name for name in gpu if name.startswith("nvidia-")}
    assert {"nvidia-cudnn-cu12", "nvidia-cublas-cu12", "nvidia-nccl-cu12"} <= cuda
    assert set(gpu) == set(cpu) | cuda | {"tensorflow"}


@pytest.mark.parametrize(("variant", "lock"), [("cpu", "requirements.lock"), ("gpu", "requirements-gpu.lock")])
def test_each_image_installs_its_lock_copied_in_so_that_a_changed_lock_rebuilds_the_layer(variant: str, lock: str) -> None:
    """COPY's content keys the layer cache under Docker and buildah alike; a bind mount's does not under buildah."""
    steps = instructions(DOCKERFILES[variant])
    kept = f"/usr/local/share/fracdet/{lock}"
    copy = steps.index(("COPY", f"{lock} {kept}"))
    name, install = steps[copy + 1]
    assert name == "RUN" and install.startswith(f"pip install --no-cache-dir -r {kept} ")
    mlflow_lock = "/usr/local/share/fracdet/requirements-mlflow.lock"  # the MLflow client, for tracking in the tasks
    assert ("COPY", f"requirements-mlflow.lock {mlflow_lock}") in steps[:copy] and f" -r {mlflow_lock} " in install
    assert not any("--mount" in args for _, args in steps)


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
    assert f"ghcr.io/fracdet/fracdet:{__version__}" == FRACDET_IMAGE
    assert f"{FRACDET_IMAGE}{GPU_TAG_SUFFIX}" == FRACDET_GPU_IMAGE
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


# buildah's own flags (no daemon; no container left behind by a failed step), and the commit set on the
# finished image, which its layer cache cannot make stale.
BUILDERS = {"docker": "docker build", "buildah": "buildah bud --isolation chroot --layers --force-rm "
            f"--label org.opencontainers.image.revision={COMMIT} --env FRACDET_GIT_COMMIT={COMMIT}"}


@pytest.mark.parametrize("engine", sorted(BUILDERS))
@pytest.mark.slow
def test_make_images_builds_both_dockerfiles_with_the_tags_the_components_use(engine: str) -> None:
    lineage = f"--build-arg FRACDET_GIT_COMMIT={COMMIT}"
    result = make("-n", "images", f"ENGINE={engine}", "CA_BUNDLE=/nonexistent", f"FRACDET_GIT_COMMIT={COMMIT}")
    assert result.returncode == 0, result.stderr
    assert f"{BUILDERS[engine]} -f components/Dockerfile -t {FRACDET_IMAGE} {lineage} ." in result.stdout.splitlines()
    assert f"{BUILDERS[engine]} -f components/Dockerfile.gpu -t {FRACDET_GPU_IMAGE} {lineage} ." in result.stdout.splitlines()
    base = "registry.example/python:3.11.14-slim-bookworm"
    renamed = make("-n", "images", f"ENGINE={engine}", "CA_BUNDLE=/nonexistent", "IMAGE=registry.example/fracdet:abc123",
                   f"BASE_IMAGE={base}", f"FRACDET_GIT_COMMIT={COMMIT}")
    gpu_build = f"{BUILDERS[engine]} -f components/Dockerfile.gpu -t registry.example/fracdet:abc123-gpu"
    assert f"{gpu_build} {lineage} --build-arg BASE_IMAGE={base} ." in renamed.stdout.splitlines()


def test_buildah_builds_trust_this_machines_certificates_without_keeping_them(tmp_path: Path) -> None:
    """A proxy's CA in the host's bundle reaches pip in the RUN steps as a mount, which the image does not keep."""
    bundle = tmp_path / "ca-certificates.crt"
    bundle.write_text("")
    result = make("-n", "images", "ENGINE=buildah", f"CA_BUNDLE={bundle}", f"FRACDET_GIT_COMMIT={COMMIT}")
    builds = [line for line in result.stdout.splitlines() if line.startswith("buildah bud")]
    assert len(builds) == 2
    assert all(f" --volume {bundle}:/etc/ssl/certs/ca-certificates.crt:ro " in line for line in builds), builds


def git(folder: Path, *args: str) -> str:
    identity = ["-c", "user.name=fracdet tests", "-c", "user.email=tests@fracdet.invalid", "-c", "commit.gpgsign=false"]
    result = subprocess.run(["git", *identity, *args], cwd=folder, capture_output=True, text=True, timeout=30, check=True)
    return result.stdout.strip()


def recording_command(folder: Path, name: str, calls: Path) -> Path:
    """A stand-in for `name` on PATH that succeeds and records its arguments, one JSON list a line."""
    folder.mkdir(exist_ok=True)
    script = folder / name
    script.write_text(f"#!{sys.executable}\nimport json, sys\n"
                      f"with open({str(calls)!r}, 'a') as log:\n    log.write(json.dumps(sys.argv[1:]) + '\\n')\n")
    script.chmod(0o755)
    return folder


@pytest.mark.parametrize("work_tree", ["clean", "changed", "not a repository", "commit named"])
def test_make_images_passes_the_commit_it_builds_from(tmp_path: Path, work_tree: str) -> None:
    """`make images` run for real, its `docker` a script that answers `info` (so Docker is the engine) and records every call.

    Git is pointed (GIT_DIR, GIT_WORK_TREE) at a repository made here, so the commit is known.
    `-o .venv/.installed`: a stale install stamp must not reinstall .venv from a test.
    """
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "setup.cfg").write_text("[metadata]\nname = fracdet\n")
    git(checkout, "init", "--quiet")
    git(checkout, "add", "setup.cfg")
    git(checkout, "commit", "--quiet", "--message", "fixture")
    head = git(checkout, "rev-parse", "HEAD")
    expected = {"clean": head, "changed": f"{head}-dirty", "not a repository": "", "commit named": COMMIT}[work_tree]
    if work_tree == "changed":
        (checkout / "setup.cfg").write_text("[metadata]\nname = fracdet\nversion = 2\n")
    git_dir = tmp_path / "nowhere" if work_tree == "not a repository" else checkout / ".git"

    calls = tmp_path / "docker-calls.jsonl"
    bin_dir = recording_command(tmp_path / "bin", "docker", calls)
    named = [f"FRACDET_GIT_COMMIT={COMMIT}"] if work_tree == "commit named" else []
    result = make("-o", ".venv/.installed", "images", "IMAGE=registry.example/fracdet:abc123", *named,
                  PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", GIT_DIR=str(git_dir), GIT_WORK_TREE=str(checkout))
    assert result.returncode == 0, result.stdout + result.stderr
    lineage = ["--build-arg", f"FRACDET_GIT_COMMIT={expected}"]
    assert [json.loads(line) for line in calls.read_text().splitlines()] == [
        ["info"],
        ["build", "-f", "components/Dockerfile", "-t", "registry.example/fracdet:abc123", *lineage, "."],
        ["build", "-f", "components/Dockerfile.gpu", "-t", "registry.example/fracdet:abc123-gpu", *lineage, "."],
    ]


def key_values(args: str) -> dict[str, str]:
    """The KEY=VALUE pairs of an ENV or LABEL instruction, quotes removed as Docker removes them."""
    return dict(word.split("=", 1) for word in shlex.split(args))


@pytest.mark.parametrize("variant", sorted(DOCKERFILES))
def test_the_image_carries_the_commit_it_was_built_from(variant: str) -> None:
    steps = instructions(DOCKERFILES[variant])
    final_stage = steps[max(i for i, (name, _) in enumerate(steps) if name == "FROM"):]
    [declared] = [index for index, (name, _) in enumerate(final_stage) if name == "ARG"]
    assert key_values(final_stage[declared][1]) == {"FRACDET_GIT_COMMIT": ""}  # empty when no commit is passed
    uses = {(name, key): index for index, (name, args) in enumerate(final_stage) if name in ("ENV", "LABEL")
            for key, value in key_values(args).items() if value == "${FRACDET_GIT_COMMIT}"}
    assert set(uses) == {("LABEL", "org.opencontainers.image.revision"), ("ENV", "FRACDET_GIT_COMMIT")}
    assert min(uses.values()) > declared  # an argument is empty before its ARG
    # After every RUN: a new commit changes the argument, and must not rebuild the dependency layers.
    assert max(index for index, (name, _) in enumerate(final_stage) if name == "RUN") < declared


@pytest.mark.parametrize("variant", sorted(DOCKERFILES))
def test_every_tensorflow_process_in_the_image_runs_onednn_capped_at_avx2(variant: str) -> None:
    """The cap and the switch fracdet_core sets on import, also for processes that never import it (tensorflow_cpu.py)."""
    steps = instructions(DOCKERFILES[variant])
    final_stage = steps[max(i for i, (name, _) in enumerate(steps) if name == "FROM"):]
    environment = {key: value for name, args in final_stage if name == "ENV" for key, value in key_values(args).items()}
    assert environment["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    assert environment["TF_ENABLE_ONEDNN_OPTS"] == "1"


def test_make_images_builds_with_buildah_where_no_docker_daemon_answers(tmp_path: Path) -> None:
    calls = tmp_path / "buildah-calls.jsonl"
    bin_dir = recording_command(tmp_path / "bin", "buildah", calls)
    result = make("-o", ".venv/.installed", "images", "IMAGE=registry.example/fracdet:abc123", f"FRACDET_GIT_COMMIT={COMMIT}",
                  "CA_BUNDLE=/nonexistent", f"DOCKER={tmp_path}/no-docker", PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert result.returncode == 0, result.stdout + result.stderr
    chroot = ["bud", "--isolation", "chroot", "--layers", "--force-rm", "--label", f"org.opencontainers.image.revision={COMMIT}",
              "--env", f"FRACDET_GIT_COMMIT={COMMIT}"]
    lineage = ["--build-arg", f"FRACDET_GIT_COMMIT={COMMIT}"]
    assert [json.loads(line) for line in calls.read_text().splitlines()] == [
        [*chroot, "-f", "components/Dockerfile", "-t", "registry.example/fracdet:abc123", *lineage, "."],
        [*chroot, "-f", "components/Dockerfile.gpu", "-t", "registry.example/fracdet:abc123-gpu", *lineage, "."],
    ]


def test_make_images_fails_clearly_with_neither_a_docker_daemon_nor_buildah(tmp_path: Path) -> None:
    result = make("images", f"BUILDAH={tmp_path}/no-buildah", DOCKER_HOST=f"unix://{tmp_path}/no-daemon.sock")
    assert result.returncode == 2
    assert "no Docker daemon answers" in result.stderr and "nothing was built" in result.stderr
