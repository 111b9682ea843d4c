"""Runs the steps of a compiled PipelineSpec here, handing each what KFP or Vertex hands it.

`LocalLauncher(spec, workdir, backend=KUBEFLOW|VERTEX, ...)` builds each step's
ExecutorInput, volumes and environment the way the orchestrator at the version we pin
does, starts the compiled container command through a pluggable `start` function
(tests/pipelines/runners/pod.py), then publishes the step's outputs to a `MetadataStore`
that later steps (and later runs) resolve from. What is reproduced, with the upstream
source of each behaviour (kubeflow/pipelines tag 2.5.0; 2.3.0 is the same in each):

  KFP input artifacts  read back from ML Metadata: `name` is the MLMD id as a decimal
                       string (backend/src/v2/metadata/converter.go:176-183) and the type
                       is `{"instanceSchema": ""}` (client.go:948 `Schema: ""`, copied at
                       client.go:174-189).
  KFP output artifacts `<root>/<pipeline>/<run>/<task>/<uuid>/<key>` with no name
                       (driver/driver.go:2010-2050, metadata/client.go:284-316).
  KFP outputFile       `/tmp/kfp_outputs/output_metadata.json` in the container
                       (component/launcher_v2.go:458, driver.go:2020).
  KFP input download   the first artifact of every input key is copied from the bucket to
                       `/gcs/<bucket>/<path>` before the command starts
                       (launcher_v2.go:503, 619-687, 882-885); `/gcs`, `/s3`, `/minio`,
                       `/.local`, `/.cache`, `/.config` are emptyDirs
                       (compiler/argocompiler/container.go:340-436). Output folders are
                       created there first and uploaded after (launcher_v2.go:898-925,
                       548-575). The bytes copied are counted (`downloaded_bytes`).
  KFP environment      `KFP_POD_NAME`, `KFP_POD_UID` (argocompiler/common.go:33-47) and the
                       optional `metadata-grpc-configmap` (common.go:22-31; values from
                       manifests/kustomize/base/metadata/base/metadata-grpc-configmap.yaml),
                       on top of the image's own ENV (Dockerfile).
  KFP placeholders     `{{$}}` in the args becomes the ExecutorInput JSON
                       (launcher_v2.go:363-376).
  Vertex               input artifacts carry the producer's declared type and their
                       resource name `projects/<n>/locations/<r>/metadataStores/default/
                       artifacts/<id>`; outputs and outputFile live under
                       `<gcsOutputDirectory>/<project number>/<job>/<task>_<uuid>/` (the
                       layout TFX's entrypoint documents, tfx 1.16
                       kubeflow_v2_run_executor.py:83-84); buckets are mounted at `/gcs`
                       (Cloud Storage FUSE, not copied); resolver steps run as ML Metadata
                       queries (metadata_store.py). Vertex's backend is closed source: these
                       come from Google's documentation and TFX's own Vertex code, not from
                       its source.

Two things differ from a cluster, both explicit: `substitutions` maps the config's
`gs://BUCKET` to a local directory in parameter values and artifact URIs (no Cloud Storage
here) and switches the TPU strategy to one this machine runs; the venv's Python and this
checkout (PYTHONPATH) stand in for the image. After each step the launcher lists what the
step left on the pod's own disk (`pod_scratch`): on a remote Beam runner nothing there is
seen by the workers, and it is gone when the pod is.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import sys
import time
import uuid

import yaml

from tests.conftest import REPO_ROOT
from tests.pipelines.runners import pod as pod_lib
from tests.pipelines.runners.metadata_store import MetadataStore, Published

PLACEHOLDER = "{{$}}"
KUBEFLOW, VERTEX = "kubeflow", "vertex"
KFP_OUTPUT_FILE = "/tmp/kfp_outputs/output_metadata.json"
KFP_EMPTY_DIRS = ("/gcs", "/s3", "/minio", "/.local", "/.cache", "/.config")
KFP_METADATA_ENV = {"METADATA_GRPC_SERVICE_HOST": "metadata-grpc-service"}
KFP_METADATA_ENV["METADATA_GRPC_SERVICE_PORT"] = "8080"
VERTEX_PROJECT_NUMBER, VERTEX_REGION = "123456789", "us-central1"


class StepFailed(AssertionError):
    """A step's command exited non-zero; the message ends with its log."""


def image_env(home: str) -> dict[str, str]:
    """The image's ENV (Dockerfile) with this venv's Python first and this checkout."""
    venv_bin = os.path.dirname(sys.executable)
    return {
        "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
        "PYTHONUNBUFFERED": "1",
        "HOME": home,
        "PYTHONPATH": str(REPO_ROOT),
    }


class LocalLauncher:
    """Runs tasks of `pipeline_spec` (a PipelineSpec dict); pod volumes live under `workdir`."""

    def __init__(
        self,
        pipeline_spec: dict,
        workdir,
        *,
        backend: str = KUBEFLOW,
        pipeline_root: str,
        substitutions=(),
        store: MetadataStore | None = None,
        platform_spec: dict | None = None,
        run_id: str = "run-1",
        start: pod_lib.StartStep = pod_lib.start_in_namespace,
        timeout: float = 3600,
        fs_group: int | None | str = "cluster",
    ):
        assert backend in (KUBEFLOW, VERTEX), backend
        self.spec, self.backend, self.run_id = pipeline_spec, backend, run_id
        self.workdir = pathlib.Path(workdir) / run_id
        self.root = pipeline_root.rstrip("/")
        self.substitutions = tuple(substitutions)
        self.store = store if store is not None else MetadataStore()
        platforms = (platform_spec or {}).get("platforms", {}).get("kubernetes", {})
        self.kubernetes = platforms.get("deploymentSpec", {}).get("executors", {})
        self.start, self.timeout = start, timeout
        # The pods' securityContext.fsGroup: by default what kubernetes/ gives every run.
        self.fs_group = pod_lib.cluster_fs_group() if fs_group == "cluster" else fs_group
        self.pipeline = pipeline_spec["pipelineInfo"]["name"]
        self.tasks = pipeline_spec["root"]["dag"]["tasks"]
        self.outputs: dict[str, dict] = {}  # task -> {"artifacts": {key: {"artifacts": [...]}}}
        self.downloaded_bytes: dict[str, int] = {}  # copied by the launcher, anywhere
        self.boot_disk_bytes: dict[str, int] = {}  # of those, on the node's own disk
        self.pod_scratch: dict[str, list[str]] = {}
        self.logs: dict[str, str] = {}

    def order(self) -> list[str]:
        """Task names in an order where every task follows the tasks it depends on."""
        done: list[str] = []
        pending = sorted(self.tasks)
        while pending:
            ready = [
                t for t in pending if set(self.tasks[t].get("dependentTasks", [])) <= set(done)
            ]
            assert ready, f"dependency cycle among {pending}"
            done += ready
            pending = [t for t in pending if t not in ready]
        return done

    def run_all(self) -> dict[str, dict]:
        for task in self.order():
            self.run_task(task)
        return self.outputs

    def component(self, task: str) -> dict:
        return self.spec["components"][self.tasks[task]["componentRef"]["name"]]

    def executor(self, task: str) -> dict:
        return self.spec["deploymentSpec"]["executors"][self.component(task)["executorLabel"]]

    def run_task(self, task: str, *, stop_when=None) -> dict:
        """Runs one task (its producers must have run); returns its published outputs.

        `stop_when(task_pod_dir)`, polled every 0.1 s, kills the step (SIGKILL, as a
        preempted node does) when it returns True; StepFailed is raised then.
        """
        if "resolver" in self.executor(task):
            return self._resolve(task)
        original, executor_input, volumes = self.executor_input(task)
        pod_dir = self.workdir / task
        if self.backend == KUBEFLOW:
            label = self.component(task)["executorLabel"]
            ephemeral = self.kubernetes.get(label, {}).get("genericEphemeralVolume", [])
            fresh = {volume["mountPath"] for volume in ephemeral}
            pod_lib.kubelet_volumes(volumes, fresh, self.fs_group)
            as_user = _PodUserWrites(volumes, self.fs_group)
            self.downloaded_bytes[task] = _download_inputs(original, volumes, self.local, as_user)
            self.boot_disk_bytes[task] = _size(volumes["/gcs"])
            _prepare_output_folders(original, volumes, as_user)
        spec = pod_lib.PodSpec(
            command=tuple(self.command(self.executor(task)["container"], executor_input)),
            env=self.env(task, str(pod_dir / "home")),
            mounts=volumes,
            workdir=str(pod_dir / "home"),
        )
        log = self._start_and_wait(task, spec, pod_dir, stop_when)
        if self.backend == KUBEFLOW:
            _upload_outputs(original, volumes, self.local)
            self.pod_scratch[task] = _scratch(volumes["/tmp/kfp_outputs"])
        output_file = executor_input["outputs"]["outputFile"]
        if self.backend == KUBEFLOW:
            output_file = os.path.join(volumes["/tmp/kfp_outputs"], "output_metadata.json")
        with open(output_file) as f:
            executor_output = json.load(f)
        self.logs[task] = log
        return self.publish(task, original, executor_output)

    def _start_and_wait(self, task, spec, pod_dir, stop_when) -> str:
        log_path = pod_dir / "log.txt"
        with open(log_path, "w") as log:
            process = self.start(spec, log)
            deadline = time.monotonic() + self.timeout
            while process.poll() is None:
                if stop_when is not None and stop_when(pod_dir):
                    process.kill()
                    process.wait()
                    raise StepFailed(f"step {task} was killed (stop_when)")
                if time.monotonic() > deadline:
                    process.kill()
                    process.wait()
                    raise StepFailed(f"step {task} ran over {self.timeout} s")
                time.sleep(0.1)
        text = log_path.read_text()
        if process.returncode != 0:
            raise StepFailed(f"step {task} exited {process.returncode}:\n{text[-4000:]}")
        return text

    def command(self, container: dict, executor_input: dict) -> list[str]:
        """The container command with `{{$}}` replaced; `python` is the venv's Python."""
        command = list(container.get("command", []))
        assert command[:2] == ["python", "-m"], f"unexpected entrypoint {command}"
        args = [json.dumps(executor_input) if a == PLACEHOLDER else a for a in container["args"]]
        return [sys.executable, *command[1:], *args]

    def env(self, task: str, home: str) -> dict[str, str]:
        env = image_env(home)
        if self.backend == KUBEFLOW:
            pod_name = f"{self.pipeline}-{self.run_id}-{task.lower()}-system-container-impl"
            env.update(KFP_POD_NAME=pod_name, KFP_POD_UID=str(uuid.uuid4()), **KFP_METADATA_ENV)
        return env

    def executor_input(self, task: str) -> tuple[dict, dict, dict[str, str]]:
        """(ExecutorInput with gs:// URIs as the orchestrator writes it, the same as the step
        sees it through `substitutions`, the pod's volumes)."""
        spec, component = self.tasks[task], self.component(task)
        pod_dir = self.workdir / task
        values = {
            name: self._substitute(_constant(param))
            for name, param in spec.get("inputs", {}).get("parameters", {}).items()
        }
        artifacts = {
            key: {"artifacts": self._input_artifacts(source)}
            for key, source in spec.get("inputs", {}).get("artifacts", {}).items()
        }
        task_uuid = str(uuid.uuid4())
        if self.backend == KUBEFLOW:
            base = f"{self.root}/{self.pipeline}/{self.run_id}/{task}/{task_uuid}"
            output_file = KFP_OUTPUT_FILE
            volumes = {path: str(pod_dir / path.strip("/")) for path in KFP_EMPTY_DIRS}
            volumes["/tmp/kfp_outputs"] = str(pod_dir / "container-tmp-kfp_outputs")
            # Generic ephemeral volumes of the platform spec (driver/driver.go:1036-1075).
            label = self.component(task)["executorLabel"]
            for volume in self.kubernetes.get(label, {}).get("genericEphemeralVolume", []):
                volumes[volume["mountPath"]] = str(pod_dir / f"volume-{volume['volumeName']}")
        else:
            base = f"{self.root}/{VERTEX_PROJECT_NUMBER}/{self.run_id}/{task}_{task_uuid}"
            output_file = f"{base}/executor_output.json"
            bucket, local = self.substitutions[0]
            volumes = {"/gcs/" + bucket.removeprefix("gs://"): local}
        outputs = {}
        for key, definition in component.get("outputDefinitions", {}).get("artifacts", {}).items():
            artifact = {"type": definition["artifactType"], "uri": f"{base}/{key}", "metadata": {}}
            outputs[key] = {"artifacts": [artifact]}
        for directory in [pod_dir / "home", *map(pathlib.Path, volumes.values())]:
            directory.mkdir(parents=True, exist_ok=True)
        executor_input = {
            "inputs": {"parameterValues": values, "artifacts": artifacts},
            "outputs": {"artifacts": outputs, "outputFile": output_file},
        }
        return executor_input, self._substitute_uris(executor_input), volumes

    def _input_artifacts(self, source: dict) -> list[dict]:
        producer = source["taskOutputArtifact"]
        task, key = producer["producerTask"], producer["outputArtifactKey"]
        if "resolver" in self.executor(task):  # what the resolver step selected, maybe none
            return self.outputs[task]["artifacts"][key]["artifacts"]
        return [self.runtime_artifact(self.store.upstream(self.run_id, task, key))]

    def runtime_artifact(self, published: Published) -> dict:
        """A published artifact as this backend hands it to a later step."""
        if self.backend == KUBEFLOW:
            artifact_type = {"instanceSchema": ""}
        else:
            artifact_type = {"instanceSchema": f"title: {published.title}\ntype: object\n"}
        return {
            "name": published.name,
            "type": artifact_type,
            "uri": published.uri,
            "metadata": dict(published.metadata),
        }

    def publish(self, task: str, executor_input: dict, executor_output: dict) -> dict:
        """Records the step's outputs: the launcher's URIs, metadata merged from the output."""
        published = {}
        for key, listed in executor_input["outputs"]["artifacts"].items():
            (artifact,) = listed["artifacts"]
            produced = executor_output.get("artifacts", {}).get(key, {}).get("artifacts", [{}])
            metadata = {**artifact.get("metadata", {}), **produced[0].get("metadata", {})}
            entry = self.store.publish(
                name_for=self._name_for,
                title=_title(artifact["type"]),
                uri=artifact["uri"],
                metadata=metadata,
                pipeline=self.pipeline,
                run=self.run_id,
                task=task,
                key=key,
            )
            published[key] = {"artifacts": [self.runtime_artifact(entry)]}
        self.outputs[task] = {"artifacts": published}
        return self.outputs[task]

    def _resolve(self, task: str) -> dict:
        assert self.backend == VERTEX, "the open-source KFP backend runs no resolver steps"
        inputs = {}
        for key, source in self.tasks[task].get("inputs", {}).get("artifacts", {}).items():
            producer = source["taskOutputArtifact"]
            inputs[key] = self.outputs[producer["producerTask"]]["artifacts"][
                producer["outputArtifactKey"]
            ]["artifacts"]
        queries = self.executor(task)["resolver"]["outputArtifactQueries"]
        resolved = {}
        for key, query in queries.items():
            found = self.store.query(self.pipeline, query["filter"], inputs)[:1]
            resolved[key] = {"artifacts": [self.runtime_artifact(a) for a in found]}
        self.outputs[task] = {"artifacts": resolved}
        return self.outputs[task]

    def _name_for(self, artifact_id: int) -> str:
        if self.backend == KUBEFLOW:
            return str(artifact_id)
        return (
            f"projects/{VERTEX_PROJECT_NUMBER}/locations/{VERTEX_REGION}/metadataStores/"
            f"default/artifacts/{artifact_id}"
        )

    def _substitute(self, value):
        if not isinstance(value, str):
            return value
        for old, new in self.substitutions:
            value = value.replace(old, new)
        return value

    def local(self, uri: str) -> str:
        """Where a gs:// URI of this run lives on this machine (`substitutions`)."""
        return self._substitute(uri)

    def _substitute_uris(self, executor_input: dict) -> dict:
        """The step sees every gs:// artifact URI through `substitutions` (no GCS here)."""
        local = json.loads(json.dumps(executor_input))
        for side in ("inputs", "outputs"):
            for listed in local[side].get("artifacts", {}).values():
                for artifact in listed["artifacts"]:
                    artifact["uri"] = self._substitute(artifact["uri"])
        local["outputs"]["outputFile"] = self._substitute(local["outputs"]["outputFile"])
        return local


def _constant(value: dict):
    """A compiled constant: `runtimeValue.constant` (schema 2.1) or `constant`/`constantValue`."""
    value = value.get("runtimeValue", value)
    if "constant" in value:
        return value["constant"]
    return next(iter(value["constantValue"].values()))


def _title(artifact_type: dict) -> str:
    if artifact_type.get("schemaTitle"):
        return artifact_type["schemaTitle"]
    return yaml.safe_load(artifact_type["instanceSchema"])["title"]


def _pod_path(uri: str, volumes: dict[str, str]) -> str:
    """Where KFP's `LocalPathForURI` (launcher_v2.go:882-885) lands on this machine.

    `/gcs/<bucket>/<path>` in the container, resolved through the most specific volume.
    """
    assert uri.startswith("gs://"), f"KFP would skip downloading {uri!r} (not gs://)"
    path = "/gcs/" + uri.removeprefix("gs://")
    mount = max((m for m in volumes if path == m or path.startswith(m + "/")), key=len)
    return os.path.join(volumes[mount], os.path.relpath(path, mount))


class _PodUserWrites:
    """Refuses what KFP's launcher, running as the pod's user, could not create.

    The launcher creates input copies and output folders inside the step's container as
    the image's user (UID/GID 1000, plus the pod's fsGroup): a volume root it may not
    write fails the step before its command starts, with the launcher's own error
    (launcher_v2.go:660 for inputs, 919 for output folders; os.MkdirAll's
    "mkdir PATH: permission denied").
    """

    def __init__(self, volumes: dict[str, str], fs_group: int | None):
        self.volumes = volumes
        self.roots = {os.path.abspath(host) for host in volumes.values()}
        self.gids = (pod_lib.POD_GID,) if fs_group is None else (pod_lib.POD_GID, fs_group)

    def container_path(self, host_path: str) -> str:
        """Where `host_path` (inside one of the volumes) is in the step's container."""
        host_path = os.path.abspath(host_path)
        mount, host = max(
            ((c, os.path.abspath(h)) for c, h in self.volumes.items()),
            key=lambda item: len(item[1]) if (host_path + "/").startswith(item[1] + "/") else -1,
        )
        return os.path.normpath(os.path.join(mount, os.path.relpath(host_path, host)))

    def check(self, host_path: str, error: str) -> None:
        """Raises StepFailed("<error>: mkdir <dir>: permission denied") if not allowed."""
        allowed, directory = pod_lib.user_can_create(host_path, self.roots, self.gids)
        if not allowed:
            missing = os.path.relpath(host_path, directory).split(os.sep)[0]
            denied = os.path.join(self.container_path(directory), missing)
            raise StepFailed(f"{error}: mkdir {denied}: permission denied")


def _download_inputs(executor_input: dict, volumes: dict[str, str], to_local, as_user) -> int:
    """Copies the first artifact of each input key to its /gcs path; returns the bytes."""
    copied = 0
    for name, listed in executor_input["inputs"]["artifacts"].items():
        if not listed["artifacts"]:
            continue
        uri = listed["artifacts"][0]["uri"]
        target = _pod_path(uri, volumes)
        as_user.check(
            target,
            f"failed to download input artifact {name!r} from remote storage URI {uri!r}",
        )
        copied += _copy(to_local(uri), target)
    return copied


def _copy(source: str, target: str) -> int:
    if os.path.isdir(source):
        shutil.copytree(source, target, dirs_exist_ok=True)
    elif os.path.exists(source):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(source, target)
    return _size(target)


def _size(path: str) -> int:
    if not os.path.exists(path):
        return 0
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def _prepare_output_folders(executor_input: dict, volumes: dict[str, str], as_user) -> None:
    """launcher_v2.go:898-925: each output artifact's local folder exists before the step."""
    for name, listed in executor_input["outputs"]["artifacts"].items():
        for artifact in listed["artifacts"]:
            folder = os.path.dirname(_pod_path(artifact["uri"], volumes))
            inside = as_user.container_path(folder)
            error = f"unable to create directory {inside!r} for output artifact {name!r}"
            as_user.check(folder, error)
            os.makedirs(folder, exist_ok=True)


def _upload_outputs(executor_input: dict, volumes: dict[str, str], to_local) -> None:
    """launcher_v2.go:548-575: whatever the step wrote at /gcs/<output> goes to the bucket."""
    for listed in executor_input["outputs"]["artifacts"].values():
        for artifact in listed["artifacts"]:
            local = _pod_path(artifact["uri"], volumes)
            if os.path.isdir(local) and os.listdir(local):
                shutil.copytree(local, to_local(artifact["uri"]), dirs_exist_ok=True)
            elif os.path.isfile(local):
                shutil.copy2(local, to_local(artifact["uri"]))


def _scratch(kfp_outputs_dir: str) -> list[str]:
    """What a step left in the container's /tmp/kfp_outputs besides KFP's own file."""
    found = []
    for directory, dirs, files in os.walk(kfp_outputs_dir):
        for name in [*dirs, *files]:
            relative = os.path.relpath(os.path.join(directory, name), kfp_outputs_dir)
            if relative != "output_metadata.json":
                found.append(relative)
    return sorted(found)
