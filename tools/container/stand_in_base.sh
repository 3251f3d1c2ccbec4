#!/usr/bin/env bash
# A stand-in for python:3.11.14-slim-bookworm, for machines that cannot pull from Docker Hub but
# reach Debian's archive: bookworm minbase with Debian's Python 3.11, laid out as the python image
# lays out what the Dockerfiles use (`python`, `python3`, `pip` on /usr/local/bin; pip may install
# as root). Made once and kept in buildah's local storage: run again, it only says it is there.
#
# Usage: tools/container/stand_in_base.sh [IMAGE]   (default localhost/fracdet-base:bookworm-python3.11)
# Needs root, buildah and debootstrap. DEBIAN_MIRROR names another mirror.
set -euo pipefail

image="${1:-localhost/fracdet-base:bookworm-python3.11}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if buildah inspect --type image "$image" >/dev/null 2>&1; then
    echo "stand-in base: $image (already built)"
    exit 0
fi
for tool in buildah debootstrap; do
    command -v "$tool" >/dev/null || { echo "stand-in base: '$tool' not found (apt-get install $tool)" >&2; exit 2; }
done

work="$(mktemp -d)"
rootfs="$work/rootfs"
container=""
cleanup() {
    if [ -n "$container" ]; then buildah rm "$container" >/dev/null; fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "stand-in base: debootstrap bookworm (minbase, python3) from $mirror"
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || { cat "$work/debootstrap.log" >&2; exit 1; }

# The python image's layout: its interpreter and pip on /usr/local/bin, and no PEP 668 marker.
for name in python python3; do ln -sf /usr/bin/python3.11 "$rootfs/usr/local/bin/$name"; done
for name in pip pip3; do ln -sf /usr/bin/pip3 "$rootfs/usr/local/bin/$name"; done
rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

container="$(buildah from scratch)"
tar -C "$rootfs" -c . | tar -C "$(buildah mount "$container")" -x
buildah umount "$container" >/dev/null
buildah config --env PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 \
    --cmd python3 --label org.opencontainers.image.description="fracdet's stand-in for python:3.11-slim-bookworm" \
    "$container"
buildah commit --quiet "$container" "$image" >/dev/null
echo "stand-in base: $image (built)"
