#!/usr/bin/env bash
# Installs, from the distribution's archive, the tools the container test needs and this machine
# lacks: buildah where no Docker daemon answers, debootstrap for the stand-in base. Skips what is
# there, so a second run installs nothing.
#
# Usage: tools/container/install_tools.sh TOOL...   (each a Debian package named like its command)
set -euo pipefail

missing=()
for tool in "$@"; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null || [ "$(id -u)" -ne 0 ]; then
    echo "container test: ${missing[*]} not installed, and only root on a Debian-like system can install them here:" \
        "install them (or start a Docker daemon) and run again" >&2
    exit 2
fi
echo "container test: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
