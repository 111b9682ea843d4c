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
    """A built image in the local store under `.cache/image`, with build.sh's driver."""

    name: str
    store_root: pathlib.Path = CACHE / "containers"
    run_root: pathlib.Path = CACHE / "run"

    def store_args(self) -> list[str]:
        store = ["--root", str(self.store_root), "--runroot", str(self.run_root)]
        # scripts/image/store.sh records the driver the store was created with.
        driver_file = CACHE / "storage-driver"
        driver = driver_file.read_text().strip() if driver_file.exists() else "vfs"
        return [*store, "--storage-driver", driver]

    def script(
        self,
        command: list[str],
        *,
        user: str = "1000:1000",
        volumes: tuple[tuple[str, str], ...] = (),
        env: dict[str, str] | None = None,
        pass_env: tuple[str, ...] = (),
    ) -> str:
        """A shell script that runs `command` in a fresh working container of the image.

        What each pod does with its image: a new container (`buildah from`), the command
        run in it as `user` (chroot isolation: the host's network), then the container
        removed whatever the exit status, which the script exits with (125 if no container
        could be made). `volumes`: (host directory, container path) pairs bound
        read-write; `env`: variables set; `pass_env`: variables whose values come from the
        environment the script itself runs in.
        """
        import shlex

        buildah = shlex.join(["buildah", *self.store_args()])
        run = ["run", "--isolation", "chroot", "--user", user]
        for host, inside in volumes:
            run += ["--volume", f"{host}:{inside}:rw"]
        for key, value in (env or {}).items():
            run += ["--env", f"{key}={value}"]
        passed = "".join(f' --env {name}="${name}"' for name in pass_env)
        return (
            f"c=$({buildah} from --pull=never {shlex.quote(self.name)}) || exit 125; "
            f'{buildah} {shlex.join(run)}{passed} "$c" -- {shlex.join(command)}; '
            f'rc=$?; {buildah} rm "$c" >/dev/null; exit $rc'
        )

    def _buildah(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["buildah", *self.store_args(), *args],
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
        script = self.script(command, user=user, volumes=tuple((m, m) for m in mounts), env=env)
        return subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=timeout)


# What the launcher stand-in sets to make this venv and checkout stand in for the image;
# inside the image its own ENV (PATH, HOME) and installed code take their place.
_STAND_IN_ENV = ("PATH", "PYTHONPATH", "HOME")


def start_in_image(image: Image, user: str = "1000:1000", shared: tuple[str, ...] = ()):
    """A launcher `start` function (spec, log) -> Popen that runs the step in `image`.

    The step's command runs as compiled (`python` found on the image's PATH, where the
    stand-in put this venv's interpreter), with the step's environment less what only
    made this machine stand in for the image, and every volume bind-mounted at its
    container path. `shared` host directories (the local stand-in for the bucket, which
    the launcher's substitutions point the steps at) are bound at their own path. A fresh
    working container per step, removed when the step ends.
    """
    import sys

    def start(spec, log):
        command = list(spec.command)
        if command and command[0] == sys.executable:
            command[0] = "python"
        # KFP's launcher runs in the step's own container, as the pod's user: whatever it
        # staged in the volumes (inputs, output folders) belongs to that user. The volume
        # roots keep the owner and mode the kubelet gave them (pod.kubelet_volumes; the
        # launcher stand-in refused what this user could not have written there). The
        # bucket stand-in is writable by the user, as the steps' service account's GCS
        # access is.
        uid, _, gid = user.partition(":")
        for host in [*spec.mounts.values(), *shared]:
            for root, dirs, files in os.walk(host):
                names = [os.path.join(root, n) for n in dirs + files]
                for name in names if root == host and host not in shared else [root, *names]:
                    os.lchown(name, int(uid), int(gid or uid))
        env = {k: v for k, v in spec.env.items() if k not in _STAND_IN_ENV}
        volumes = (
            *((host, inside) for inside, host in spec.mounts.items()),
            *((host, host) for host in shared),
        )
        return subprocess.Popen(
            ["sh", "-c", image.script(command, user=user, volumes=volumes, env=env)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    return start


# What Beam's boot sets before it starts the SDK harness (apache/beam sdks/python/container/
# boot.go, section "(3) Invoke python", in the revisions with the RUN_PYTHON_SDK_IN_DEFAULT_
# ENVIRONMENT venv step, Beam >= 2.48: PIPELINE_OPTIONS, SEMI_PERSISTENT_DIRECTORY,
# LOGGING_ and CONTROL_API_SERVICE_DESCRIPTOR, RUNNER_CAPABILITIES, optional
# STATUS_API_SERVICE_DESCRIPTOR and JOB_NAME/JOB_ID, then `python -m
# apache_beam.runners.worker.sdk_worker_main` with WORKER_ID per worker). Beam's
# SUBPROCESS_SDK environment hands a worker command all of these but RUNNER_CAPABILITIES,
# STATUS and JOB_* (apache_beam/runners/portability/local_job_service.py,
# SubprocessSdkWorker.run); sdk_worker_main reads those as optional (sdk_worker_main.py:108,
# 141 at apache-beam 2.59.0).
_HARNESS_ENV = (
    "WORKER_ID",
    "PIPELINE_OPTIONS",
    "LOGGING_API_SERVICE_DESCRIPTOR",
    "CONTROL_API_SERVICE_DESCRIPTOR",
)


def sdk_harness_command(image: Image, mounts: tuple[str, ...], user: str = "1000:1000") -> str:
    """A shell command that runs Beam's SDK harness in a fresh container of `image`.

    For `--environment_type=beam:env:harness_subprocess_python:v1
    --environment_config=<this>`: the portable runner starts it for each worker with the
    Fn API endpoints in the environment, and it runs what boot runs after provisioning
    (`python -m apache_beam.runners.worker.sdk_worker_main`, the variables boot sets,
    SEMI_PERSISTENT_DIRECTORY=/tmp) as `user`, with the host's network (chroot
    isolation), `mounts` bound at their own paths. The working container is removed when
    the harness exits.
    """
    return image.script(
        ["python", "-m", "apache_beam.runners.worker.sdk_worker_main"],
        user=user,
        volumes=tuple((host, host) for host in mounts),
        env={"SEMI_PERSISTENT_DIRECTORY": "/tmp"},
        pass_env=_HARNESS_ENV,
    )
