#!/usr/bin/env bash
# Build the bertpipe image here without a Docker engine or a registry: buildah with chroot
# isolation and overlay storage (vfs where overlay cannot mount: store.sh), on the offline
# stand-in base (scripts/image/base.sh), from the real Dockerfile. pip in the build installs from a wheelhouse downloaded on the host
# (cached under $CACHE/wheels) with no index, so the build needs PyPI only on the host.
#
# Builds --target runtime: the final stage copies Beam's boot binary from
# apache/beam_python3.10_sdk, which cannot be pulled here (docs/deploy/image.md).
# Prints the build time and the image size, and records them in $CACHE/last-build-<variant>.txt.
#
# Usage: scripts/image/build.sh [cpu|tpu]   (env: IMAGE_TAG, CACHE, STORE_ROOT)
set -euo pipefail

cd "$(dirname "$0")/../.."
variant=${1:-cpu}
BASE_IMAGE=${BASE_IMAGE:-localhost/bertpipe-python:3.10-slim-bookworm}
IMAGE_TAG=${IMAGE_TAG:-localhost/bertpipe:check-$variant}
PIP=${PIP:-.venv/bin/pip}
# shellcheck source=scripts/image/store.sh
source scripts/image/store.sh
export STORE_ROOT CACHE BASE_IMAGE

start=$(date +%s)
scripts/image/base.sh
base_done=$(date +%s)

# The wheelhouse: everything `pip install -c constraints.txt .` resolves to, plus what
# building the sdists needs; downloaded again only when setup.py or constraints.txt change.
wheels=$CACHE/wheels
mkdir -p "$wheels"
inputs=$(cat setup.py constraints.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$wheels/.inputs" 2>/dev/null)" != "$inputs" ]; then
  "$PIP" download --quiet --dest "$wheels" -c constraints.txt . setuptools wheel
  echo "$inputs" >"$wheels/.inputs"
fi
if [ "$variant" = tpu ]; then
  # tensorflow-tpu is on PyPI; libtpu 2.16.0rc0 is only on Google's index (LIBTPU_INDEX),
  # which these machines cannot reach: the TPU build stops at the Dockerfile's TPU install.
  "$PIP" download --quiet --dest "$wheels" --no-deps \
    "$(grep -E '^tensorflow-tpu==' requirements-tpu.txt)"
fi
wheels_done=$(date +%s)

# --format docker: the OCI format drops SHELL (the Dockerfile's pipefail), as docker does not.
# --force-rm: a failed build removes its working containers too (else they stay mounted).
bud() {
  buildah "${store[@]}" bud --isolation chroot --layers --force-rm --format docker \
    --target runtime --build-arg TF_VARIANT="$variant" \
    --build-arg PYTHON_IMAGE="$BASE_IMAGE" \
    --build-arg PIP_NO_INDEX=1 --build-arg PIP_FIND_LINKS=/wheels \
    --volume "$PWD/$wheels:/wheels:ro" \
    -t "$IMAGE_TAG" .
}
# One retry: buildah's chroot runner fails now and then with "Close_Fd sealing memfd copy:
# Device or resource busy" (seen once in eight builds here); the retry resumes from the
# cached layers, and a real failure fails again.
if ! bud; then
  echo "build.sh: buildah bud failed; retrying once from the cached layers" >&2
  bud
fi
end=$(date +%s)

size=$(buildah "${store[@]}" inspect --type image --format '{{.Docker.Size}}' "$IMAGE_TAG" \
  2>/dev/null || true)
if [ -z "$size" ] || [ "$size" = 0 ]; then
  # No size recorded: measure the image's mounted tree.
  mount=$(buildah "${store[@]}" from --pull=never "$IMAGE_TAG")
  size=$(du -sb "$(buildah "${store[@]}" mount "$mount")" | cut -f1)
  buildah "${store[@]}" rm "$mount" >/dev/null
fi
summary="image $IMAGE_TAG: $((size / 1000000)) MB uncompressed; build $((end - start)) s \
(base $((base_done - start)) s, wheels $((wheels_done - base_done)) s, buildah $((end - wheels_done)) s)"
echo "$summary" | tee "$CACHE/last-build-$variant.txt"
