#!/usr/bin/env bash
# The base the container test builds the CPU image on: the pinned Python image (the Dockerfile's
# BASE_IMAGE default) when this machine has it or can pull it, else a stand-in made from Debian's
# packages (stand_in_base.sh, buildah only). Says which on stderr; prints the image's name.
#
# Usage: tools/container/base_image.sh ENGINE   (docker or buildah, as engine.sh prints)
set -euo pipefail
cd "$(dirname "$0")/../.."

engine="$1"
pinned="$(sed -n 's/^ARG BASE_IMAGE=//p' components/Dockerfile)"
stand_in="localhost/fracdet-base:bookworm-python3.11"

case "$engine" in
    docker) present=(docker image inspect "$pinned"); pull=(docker pull --quiet "$pinned") ;;
    buildah) present=(buildah inspect --type image "$pinned"); pull=(buildah pull --quiet "$pinned") ;;
    *) echo "base image: unknown engine '$engine' (docker or buildah)" >&2; exit 2 ;;
esac

if "${present[@]}" >/dev/null 2>&1 || timeout 180 "${pull[@]}" >/dev/null 2>&1; then
    echo "container test: base image $pinned (the pinned base)" >&2
    echo "$pinned"
elif [ "$engine" = buildah ]; then
    echo "container test: base image $stand_in, a stand-in: $pinned cannot be pulled here" >&2
    tools/container/stand_in_base.sh "$stand_in" >&2
    echo "$stand_in"
else
    echo "container test: $pinned cannot be pulled, and the stand-in base needs buildah (ENGINE=buildah)" >&2
    exit 2
fi
