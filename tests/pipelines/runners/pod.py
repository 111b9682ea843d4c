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


def describe(pod: PodSpec) -> str:
    """A shell-like one-liner of the pod's command, for failure messages."""
    return " ".join(shlex.quote(a) for a in pod.command[:4]) + " ..."
