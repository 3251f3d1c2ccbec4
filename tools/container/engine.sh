#!/usr/bin/env bash
# The container engine this machine builds and runs fracdet's images with: Docker where a daemon
# answers, else buildah, which needs no daemon. Prints `docker` or `buildah`; when it has neither,
# says so on stderr and exits 2. DOCKER and BUILDAH name other clients.
set -euo pipefail

docker="${DOCKER:-docker}"
buildah="${BUILDAH:-buildah}"
if command -v "$docker" >/dev/null && "$docker" info >/dev/null 2>&1; then
    echo docker
elif command -v "$buildah" >/dev/null; then
    echo buildah
else
    echo "no container engine: no Docker daemon answers ('$docker info' failed) and '$buildah' is not found" \
        "(apt-get install buildah): nothing was built" >&2
    exit 2
fi
