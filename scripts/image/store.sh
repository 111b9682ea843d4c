# Sourced by base.sh and build.sh: the local image store's arguments, in $store.
#
# overlay when the kernel lets us mount it (each layer holds only its own changes: the
# CPU image needs about 4 GB of store); otherwise vfs, which copies the whole tree for
# every instruction (about 3.5 GB per layer with --layers). The choice is written to
# $CACHE/storage-driver on first use, because a store cannot change driver afterwards;
# tests/image/buildah.py reads the same file. STORAGE_DRIVER overrides it for a new store.
CACHE=${CACHE:-.cache/image}
STORE_ROOT=${STORE_ROOT:-$CACHE/containers}
mkdir -p "$CACHE"
if [ ! -f "$CACHE/storage-driver" ]; then
  driver=${STORAGE_DRIVER:-}
  if [ -z "$driver" ]; then
    probe=$(mktemp -d "$CACHE/overlay-probe.XXXXXX")
    mkdir -p "$probe"/{lower,upper,work,merged}
    if mount -t overlay overlay \
        -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" \
        "$probe/merged" 2>/dev/null; then
      umount "$probe/merged"
      driver=overlay
    else
      driver=vfs
    fi
    rm -rf "$probe"
  fi
  echo "$driver" >"$CACHE/storage-driver"
fi
STORAGE_DRIVER=$(cat "$CACHE/storage-driver")
store=(--root "$PWD/$STORE_ROOT" --runroot "$PWD/$CACHE/run" --storage-driver "$STORAGE_DRIVER")
