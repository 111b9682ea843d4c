"""How the launcher stand-in starts one step's process: command + env + mounts -> process.

`PodSpec` is everything a step's container gets from the orchestrator that is not in the
ExecutorInput: its command line, its environment and its volumes (container path -> a
directory on this machine). `start_in_namespace` starts it here: a private mount namespace
(`unshare --user --map-root-user --mount`) whose root is this machine's root with every
volume bind-mounted at its container path, so the step sees `/tmp/kfp_outputs` and `/gcs`
at the paths KFP gives it while nothing outside its volumes is changed. The venv's Python
and this checkout stand in for the image (what differs is listed in
docs/deploy/kubeflow-vertex-fidelity.md).

Swap `start_in_namespace` for any function with the same signature (e.g. one that runs
`buildah run --volume HOST:CONTAINER ... IMAGE COMMAND` to use the built image); the
launcher calls nothing else to start a step.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import shutil
import subprocess
from collections.abc import Callable, Mapping
from typing import IO


@dataclasses.dataclass(frozen=True)
class PodSpec:
    """One step's process as the orchestrator starts it.

    Attributes:
      command: the container command line, placeholders already substituted.
      env: the whole environment of the process (nothing is inherited).
      mounts: container path -> directory on this machine, e.g. "/gcs" -> an emptyDir.
      workdir: the working directory inside the container.
    """

    command: tuple[str, ...]
    env: Mapping[str, str]
    mounts: Mapping[str, str]
    workdir: str = "/"

    def __post_init__(self):
        for path in self.mounts:
            if not path.startswith("/") or path == "/":
                raise ValueError(f"mount points must be absolute and not '/'; got {path!r}")


_SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
StartStep = Callable[[PodSpec, IO[str]], subprocess.Popen]

# Builds a new root from bind mounts of this machine's top-level directories, mounts the
# volumes over it, and runs the command there. Arguments: the chroot binary, root,
# workdir, then pairs of (host dir, container path), then "--", then the command.
_NAMESPACE_SCRIPT = r"""
set -e
chroot="$1"; root="$2"; workdir="$3"; shift 3
mount -t tmpfs pod-root "$root"
for d in /*; do
  [ -d "$d" ] || continue
  if [ -L "$d" ]; then ln -s "$(readlink "$d")" "$root$d"; continue; fi
  mkdir "$root$d"; mount --rbind "$d" "$root$d"
done
while [ "$1" != "--" ]; do
  mkdir -p "$root$2"; mount --bind "$1" "$root$2"; shift 2
done
shift
exec "$chroot" "$root" /bin/sh -c 'cd "$1" && shift && exec "$@"' pod "$workdir" "$@"
"""


def namespaces_available() -> bool:
    """Whether this machine lets an unprivileged process make a mount namespace."""
    if not shutil.which("unshare"):
        return False
    probe = ["unshare", "--user", "--map-root-user", "--mount", "true"]
    return subprocess.run(probe, capture_output=True).returncode == 0


def start_in_namespace(pod: PodSpec, log: IO[str]) -> subprocess.Popen:
    """Starts `pod.command` with exactly `pod.env`, its volumes mounted at their paths.

    Output and errors go to `log`. Killing the returned process kills the step too
    (`unshare --kill-child`), as a preempted node does.
    """
    root = os.path.join(os.path.dirname(os.path.abspath(log.name)), "pod-root")
    os.makedirs(root, exist_ok=True)
    mounts = [a for container, host in sorted(pod.mounts.items()) for a in (host, container)]
    command = [
        "unshare",
        "--user",
        "--map-root-user",
        "--mount",
        "--fork",
        "--kill-child",
        "/bin/sh",
        "-c",
        _NAMESPACE_SCRIPT,
        "pod",
        shutil.which("chroot", path=_SYSTEM_PATH),
        root,
        pod.workdir,
        *mounts,
        "--",
        *pod.command,
    ]
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=dict(pod.env))


# The user every step's process runs as: the image's `USER 1000:1000` (Dockerfile; KFP
# 2.5.0 sets no runAsUser unless the API server's PIPELINE_RUN_AS_USER is set,
# backend/src/v2/compiler/argocompiler/argo.go:128-131). KFP's launcher runs inside the
# step's container, so it stages inputs and output folders as this user too.
POD_UID = 1000
POD_GID = 1000
# kubernetes pkg/volume/emptydir/empty_dir.go:50: an emptyDir's directory is made 0777.
EMPTY_DIR_MODE = 0o777
# A generic ephemeral volume is a fresh PersistentVolume that the CSI node plugin (as
# root) formats with mkfs.ext4: e2fsprogs' create_root_dir (misc/mke2fs.c) makes the
# root directory with the default umask 022 and leaves it to the user running mkfs.
# Checked with Debian 12's mke2fs 1.47.0: `mkfs.ext4` on an image, `debugfs -R "stat /"`
# gives Mode 0755, User 0, Group 0.
FRESH_FILESYSTEM_MODE = 0o755


def cluster_fs_group() -> int | None:
    """The fsGroup every KFP run's pods get on the cluster kubernetes/ sets up, or None.

    kubernetes/kfp/install sets it as Argo's `workflowDefaults` (workflow-controller-
    configmap), which Argo merges into every Workflow's spec.securityContext; the KFP
    2.5.0 compiler adds only runAsUser (argo.go:128-131).
    """
    import pathlib

    import yaml

    path = pathlib.Path(__file__).parents[3] / "kubernetes" / "kfp" / "install"
    kustomization = yaml.safe_load((path / "kustomization.yaml").read_text())
    for patch in kustomization.get("patches", []):
        if patch["target"].get("name") != "workflow-controller-configmap":
            continue
        defaults = yaml.safe_load(yaml.safe_load(patch["patch"])["data"]["workflowDefaults"])
        return defaults.get("spec", {}).get("securityContext", {}).get("fsGroup")
    return None


def kubelet_volumes(
    volumes: Mapping[str, str], fresh: set[str] | frozenset[str], fs_group: int | None
) -> None:
    """Gives each volume's root directory the owner and mode the kubelet leaves it with.

    `volumes`: container path -> host directory; `fresh`: the container paths that are
    new filesystems (generic ephemeral volumes), the rest are emptyDirs. With the pod's
    `securityContext.fsGroup`, the kubelet applies SetVolumeOwnership to both: an emptyDir
    in every case (kubernetes pkg/volume/emptydir/empty_dir.go, emptyDir.SetUpAt calls
    volume.SetVolumeOwnership after setupDir), a CSI volume when the driver's fsGroupPolicy
    allows it for the volume (pkg/volume/csi/csi_mounter.go, SetUpAt / supportsFSGroup:
    the default ReadWriteOnceWithFSType takes a ReadWriteOnce volume with an fsType: the
    compiled staging volume is ReadWriteOnce, input_staging.py, and GKE's PD CSI
    StorageClasses give it ext4). SetVolumeOwnership gives
    group fsGroup, mode | 0660, and for directories | setgid | 0110 (pkg/volume/
    volume_linux.go:113-128, changeFilePermission, commit 7dd8853).
    """
    for container_path, host in volumes.items():
        mode = FRESH_FILESYSTEM_MODE if container_path in fresh else EMPTY_DIR_MODE
        gid = 0
        if fs_group is not None:
            gid, mode = fs_group, mode | 0o660 | 0o110 | 0o2000
        os.chown(host, 0, gid)
        os.chmod(host, mode)


def user_can_create(
    host_path: str, volume_roots: set[str], gids: tuple[int, ...] = (POD_GID,)
) -> tuple[bool, str]:
    """Whether the pod's user may create `host_path` (`mkdir -p`), as POSIX mode bits say.

    Returns (True, "") or (False, the directory it may not write), the EACCES a non-root
    process gets. Only a volume's root has an owner and mode the kubelet chose
    (`kubelet_volumes`); everything below it was created by KFP's launcher, which runs as
    the pod's user, so it is that user's.
    """
    path = os.path.abspath(host_path)
    while not os.path.lexists(path):
        path = os.path.dirname(path)
    if path == os.path.abspath(host_path) or path not in volume_roots:
        return True, ""
    info = os.stat(path)
    if info.st_uid == POD_UID:
        bits = (info.st_mode >> 6) & 0o7
    elif info.st_gid in gids:
        bits = (info.st_mode >> 3) & 0o7
    else:
        bits = info.st_mode & 0o7
    allowed = (bits & 0o3) == 0o3
    return allowed, "" if allowed else path


def describe(pod: PodSpec) -> str:
    """A shell-like one-liner of the pod's command, for failure messages."""
    return " ".join(shlex.quote(a) for a in pod.command[:4]) + " ..."
