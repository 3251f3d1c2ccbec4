"""Running a command inside an image as a pod runs its container, with Docker or with buildah.

Each command gets a fresh container from the image (a pod starts from the image every time) and runs
as the image's own user in its own working folder: nothing here passes `--user`, as nothing in the
pipeline's pods sets `runAsUser`, so an image that runs as root is seen running as root. Host folders
are mounted at the same paths inside, as kfp.local's DockerRunner mounts its pipeline root, so a URI
means the same file inside the container and out.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# buildah's default isolation starts an OCI runtime, which a machine without cgroup delegation (a CI
# runner inside a VM or container) cannot; chroot isolation runs the process directly, as root may.
BUILDAH_RUN = ("buildah", "run", "--isolation", "chroot")


@dataclass(frozen=True)
class Mount:
    """A host folder or file, seen at the same path inside the container."""

    path: Path
    writable: bool = False
    at: Path | None = None  # another path inside the container

    def option(self) -> str:
        return f"{self.path}:{self.at or self.path}:{'rw' if self.writable else 'ro'}"


@dataclass(frozen=True)
class Engine:
    """`name` is `docker` or `buildah` (tools/container/engine.sh chooses); `image` is what runs."""

    name: str
    image: str

    def run(self, command: Sequence[str], mounts: Sequence[Mount], timeout: float) -> subprocess.CompletedProcess:
        """The command's exit status and its output, stdout and stderr interleaved as a pod's log is."""
        volumes = [word for mount in mounts for word in ("--volume", mount.option())]
        if self.name == "docker":
            return _logged(["docker", "run", "--rm", *volumes, self.image, *command], timeout)
        if self.name != "buildah":
            raise ValueError(f"unknown container engine {self.name!r}: docker or buildah")
        container = subprocess.run(["buildah", "from", "--pull=never", "--quiet", self.image], capture_output=True,
                                   text=True, check=True, timeout=120).stdout.strip()
        try:
            return _logged([*BUILDAH_RUN, *volumes, container, "--", *command], timeout)
        finally:
            subprocess.run(["buildah", "rm", container], capture_output=True, check=True, timeout=120)


def _logged(argv: list[str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
