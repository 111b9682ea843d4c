"""Runs commands inside a locally built image, as a pod runs its container, with buildah.

No Docker engine or Kubernetes here: `buildah run --isolation chroot` runs a command in a
fresh working container made from the image (`buildah from`), so every step starts from
the image's own filesystem, as every Kubeflow/Vertex pod does. `podman run` cannot run on
these machines (crun's setrlimit is not permitted); buildah's chroot isolation can.

What a cluster does that this does not: no cgroup limits, the host's network, and bind
mounts instead of a CSI/FUSE volume. What it does do like a pod: the image's environment
(PATH, HOME, RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT), the numeric user the pod's
securityContext sets (`--user 1000:1000`), the step's own command (a container `command`
replaces the image ENTRYPOINT in Kubernetes, so buildah's ignoring of it is faithful).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import shutil
import subprocess

from tests.conftest import REPO_ROOT

CACHE = REPO_ROOT / ".cache" / "image"
IMAGE_ENV = "BERTPIPE_IMAGE"


def available() -> str | None:
    """The image `make image-check` built (env BERTPIPE_IMAGE), or None when not asked for."""
    image = os.environ.get(IMAGE_ENV)
    if not image or shutil.which("buildah") is None:
        return None
    return image


@dataclasses.dataclass(frozen=True)
class Image:
    """A built image in the local store under `.cache/image` (vfs, as build.sh uses)."""

    name: str
    store_root: pathlib.Path = CACHE / "containers"
    run_root: pathlib.Path = CACHE / "run"

    def _buildah(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        store = ["--root", str(self.store_root), "--runroot", str(self.run_root)]
        return subprocess.run(
            ["buildah", *store, "--storage-driver", "vfs", *args],
            capture_output=True,
            text=True,
            **kwargs,
        )

    def inspect(self) -> dict:
        """The image's OCI config (`config.Env`, `config.User`, `config.Entrypoint`...)."""
        import json

        result = self._buildah("inspect", "--type", "image", self.name, check=True)
        return json.loads(result.stdout)["OCIv1"]

    def run(
        self,
        command: list[str],
        *,
        user: str = "1000:1000",
        mounts: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        timeout: float = 900,
    ) -> subprocess.CompletedProcess:
        """Runs `command` in a fresh container of the image; returns the finished process.

        `mounts` are host directories bound read-write at the same path inside, so paths in
        an ExecutorInput mean the same file on both sides.
        """
        container = self._buildah("from", "--pull=never", self.name, check=True).stdout.strip()
        try:
            args = ["run", "--isolation", "chroot", "--user", user]
            for mount in mounts:
                args += ["--volume", f"{mount}:{mount}:rw"]
            for key, value in (env or {}).items():
                args += ["--env", f"{key}={value}"]
            return self._buildah(*args, container, "--", *command, timeout=timeout)
        finally:
            self._buildah("rm", container)
