#!/usr/bin/env bash
# Assemble, offline, a stand-in for the official python:3.10-slim-bookworm base image and
# load it into the local image store as $BASE_IMAGE (default localhost/bertpipe-python:
# 3.10-slim-bookworm). Cached: the rootfs tarball under $CACHE is reused while it exists.
#
# Same layout as docker-library's python/3.10/slim-bookworm/Dockerfile: Debian bookworm,
# CPython installed under /usr/local (bin/python3.10, lib/libpython3.10.so.1.0, ldconfig
# run), python/python3/pip/pip3 links in /usr/local/bin, the runtime packages its shared
# objects link against (the official build finds them with ldd + dpkg-query), ca-certificates,
# netbase, tzdata, LANG=C.UTF-8. Differences, stated: CPython 3.10.13 from this machine's
# pyenv build instead of the official 3.10.x build; Debian's packages at build time.
#
# Usage: scripts/image/base.sh   (env: PYTHON_PREFIX, BASE_IMAGE, CACHE, STORE_ROOT)
set -euo pipefail

cd "$(dirname "$0")/../.."
PYTHON_PREFIX=${PYTHON_PREFIX:-$HOME/.pyenv/versions/3.10.13}
BASE_IMAGE=${BASE_IMAGE:-localhost/bertpipe-python:3.10-slim-bookworm}
# shellcheck source=scripts/image/store.sh
source scripts/image/store.sh
tarball=$CACHE/python-3.10-slim-bookworm.tar
# The Debian mirror apt already uses on this machine.
mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources \
  2>/dev/null | head -n1)
mirror=${mirror:-http://deb.debian.org/debian}
# What the official image's CPython links against (bookworm names), found by ldd below.
packages=ca-certificates,netbase,tzdata,libbz2-1.0,libcrypt1,libexpat1,libffi8,libgdbm6,\
liblzma5,libncursesw6,libnsl2,libreadline8,libsqlite3-0,libssl3,libtirpc3,libuuid1,zlib1g

if buildah "${store[@]}" inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
  echo "base: $BASE_IMAGE is in the store"
  exit 0
fi
mkdir -p "$CACHE"
if [ ! -f "$tarball" ]; then
  [ -x "$PYTHON_PREFIX/bin/python3.10" ] || {
    echo "base: no CPython 3.10 at $PYTHON_PREFIX (set PYTHON_PREFIX)" >&2
    exit 2
  }
  rootfs=$(mktemp -d "$CACHE/rootfs.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" "$mirror"
  cp -a "$PYTHON_PREFIX/." "$rootfs/usr/local/"
  # The build's prefix is baked into sysconfig (INCLUDEPY, CFLAGS: where C extensions find
  # Python.h), python-config, pkg-config files and script shebangs: make them /usr/local,
  # the official image's prefix, or every sdist with a C extension fails to build.
  grep -rlI "$PYTHON_PREFIX" "$rootfs/usr/local" | xargs -r sed -i "s|$PYTHON_PREFIX|/usr/local|g"
  # The official image deletes tests and bytecode; so do we (about 30 MB).
  rm -rf "$rootfs"/usr/local/lib/python3.10/{test,idlelib/idle_test,lib2to3/tests}
  find "$rootfs/usr/local" -depth -name __pycache__ -type d -exec rm -rf {} +
  for name in python:python3 python3:python3.10 pip:pip3 pip3:pip3.10 idle:idle3 \
      pydoc:pydoc3 python-config:python3-config; do
    ln -sfn "${name#*:}" "$rootfs/usr/local/bin/${name%%:*}"
  done
  chroot "$rootfs" ldconfig
  # Every shared object under /usr/local must resolve (the official image's own check);
  # tkinter is left out there too (no Tk in slim).
  missing=$(chroot "$rootfs" sh -c "find /usr/local -type f -name '*.so*' -not -name '*tkinter*' \
    -exec ldd {} + 2>/dev/null; ldd /usr/local/bin/python3.10" | grep 'not found' | sort -u || true)
  if [ -n "$missing" ]; then
    echo "base: unresolved libraries in the base:"$'\n'"$missing" >&2
    exit 1
  fi
  chroot "$rootfs" /usr/local/bin/python3 -c 'import ssl, sqlite3, ctypes, lzma, bz2, uuid, zlib
import sysconfig
assert sysconfig.get_config_var("INCLUDEPY") == "/usr/local/include/python3.10"'
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
  tar -C "$rootfs" --numeric-owner -cf "$tarball.partial" .
  mv "$tarball.partial" "$tarball"
fi
podman "${store[@]}" import \
  --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' --change 'ENV PYTHON_VERSION=3.10.13' \
  --change 'CMD ["python3"]' "$tarball" "$BASE_IMAGE" >/dev/null
echo "base: imported $BASE_IMAGE from $tarball"
