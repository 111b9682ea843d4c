#!/usr/bin/env bash
# The Debian tools `make image-check` builds and runs the image with: buildah (build and
# run, chroot isolation, overlay or vfs storage), podman (imports the base rootfs), debootstrap
# (assembles the base). They need root; elsewhere this says how and stops.
set -euo pipefail

missing=()
for tool in buildah podman debootstrap; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ "${#missing[@]}" = 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "bertpipe: installing ${missing[*]} (Debian) for the image check"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah podman debootstrap >/dev/null
else
  echo "bertpipe: error: ${missing[*]} not installed; the image check needs root and" \
    "Debian's buildah, podman and debootstrap: sudo apt-get install buildah podman" \
    "debootstrap, then run make image-check as root" >&2
  exit 2
fi
