"""Runs the steps of a compiled KFP v2 PipelineSpec on this machine, as the KFP launcher would.

In a pod, KFP's launcher builds each step's ExecutorInput (parameter values from the task,
input artifacts from the producing steps' outputs, output artifacts with fresh URIs under
the pipeline root and an `outputFile`), substitutes it for the `{{$}}` placeholder in the
step's container args and runs the container command. This module does the same with
local directories and the venv's Python in place of the image, so import paths, artifact
types, exec properties and Beam arguments of every step are proven before an image exists.
`LocalLauncher(spec, workdir).run_all()` runs a whole pipeline in dependency order;
`run_task` runs one step. Nothing here is bertpipe-specific.

Two things differ from a cluster, both explicit:
  - `substitutions`: (old, new) text replacements applied to every parameter value of the
    ExecutorInput, i.e. to the compiled exec properties. Tests map the config's
    `gs://BUCKET` to a local directory (what a Cloud Storage FUSE mount would do: the steps
    here have no Google Cloud credentials) and a TPU runtime setting to one this machine
    can run; everything else reaches the step exactly as compiled.
  - resolver steps (Vertex runs TFX Resolver nodes as ML Metadata queries): there is no
    ML Metadata here, so they resolve to no artifact, which is what a pipeline's first run
    gets from a latest-blessed-model query.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

from tests.conftest import REPO_ROOT

PLACEHOLDER = "{{$}}"


class StepFailed(AssertionError):
    """A step's command exited non-zero; the message ends with its stderr."""


class LocalLauncher:
    """Runs tasks of `pipeline_spec` (a PipelineSpec dict) with outputs under `workdir`."""

    def __init__(
        self,
        pipeline_spec: dict,
        workdir,
        *,
        substitutions=(),
        python=sys.executable,
        timeout=900,
    ):
        self.spec = pipeline_spec
        self.workdir = pathlib.Path(workdir)
        self.substitutions = tuple(substitutions)
        self.python, self.timeout = python, timeout
        self.tasks = pipeline_spec["root"]["dag"]["tasks"]
        self.outputs: dict[str, dict] = {}  # task -> executor output ("artifacts" by key)
        self._ids = 0

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

    def executor(self, task: str) -> dict:
        component = self.spec["components"][self.tasks[task]["componentRef"]["name"]]
        return self.spec["deploymentSpec"]["executors"][component["executorLabel"]]

    def run_task(self, task: str) -> dict:
        """Runs one task (its producers must have run); returns its executor output."""
        executor = self.executor(task)
        if "resolver" in executor:
            queries = executor["resolver"]["outputArtifactQueries"]
            self.outputs[task] = {"artifacts": {key: {"artifacts": []} for key in queries}}
            return self.outputs[task]
        executor_input = self.executor_input(task)
        output_file = executor_input["outputs"]["outputFile"]
        container = executor["container"]
        command = self.command(container, executor_input)
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
        result = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=self.timeout
        )
        if result.returncode != 0:
            raise StepFailed(f"step {task} exited {result.returncode}:\n{result.stderr[-4000:]}")
        with open(output_file) as f:
            self.outputs[task] = json.load(f)
        return self.outputs[task]

    def command(self, container: dict, executor_input: dict) -> list[str]:
        """The container command line with the executor input substituted, run by `python`."""
        command = list(container.get("command", []))
        assert command[:2] == ["python", "-m"], f"unexpected entrypoint {command}"
        args = [json.dumps(executor_input) if a == PLACEHOLDER else a for a in container["args"]]
        return [self.python, *command[1:], *args]

    def executor_input(self, task: str) -> dict:
        """The ExecutorInput the KFP launcher would hand the task's container."""
        spec = self.tasks[task]
        component = self.spec["components"][spec["componentRef"]["name"]]
        task_dir = self.workdir / task
        values = {
            name: self._substitute(_constant(param))
            for name, param in spec.get("inputs", {}).get("parameters", {}).items()
        }
        artifacts = {}
        for key, source in spec.get("inputs", {}).get("artifacts", {}).items():
            producer = source["taskOutputArtifact"]
            produced = self.outputs[producer["producerTask"]]["artifacts"][
                producer["outputArtifactKey"]
            ]
            schema = component["inputDefinitions"]["artifacts"][key]["artifactType"]
            artifacts[key] = {"artifacts": [{**a, "type": schema} for a in produced["artifacts"]]}
        outputs = {}
        for key, definition in component.get("outputDefinitions", {}).get("artifacts", {}).items():
            outputs[key] = {
                "artifacts": [self._artifact(definition["artifactType"], task_dir / key)]
            }
        return {
            "inputs": {"parameterValues": values, "artifacts": artifacts},
            "outputs": {"artifacts": outputs, "outputFile": str(task_dir / "executor_output.json")},
        }

    def _artifact(self, schema: dict, uri) -> dict:
        self._ids += 1
        name = f"projects/local/locations/here/metadataStores/default/artifacts/{self._ids}"
        return {"name": name, "type": schema, "uri": str(uri), "metadata": {}}

    def _substitute(self, value):
        if not isinstance(value, str):
            return value
        for old, new in self.substitutions:
            value = value.replace(old, new)
        return value


def _constant(value: dict):
    """A compiled constant: `runtimeValue.constant` (schema 2.1) or `constant`/`constantValue`."""
    value = value.get("runtimeValue", value)
    if "constant" in value:
        return value["constant"]
    return next(iter(value["constantValue"].values()))


def vertex_training_job(launcher: LocalLauncher, task: str) -> tuple[dict, dict]:
    """The CustomJob the Vertex Trainer extension's step would create for `task`.

    Parses the task's ExecutorInput the way the step's entrypoint does and hands it to TFX's
    own `VertexJobClient.create_training_job`, which writes the worker pool's command
    (`python -m tfx.scripts.run_executor ...` with the artifacts and exec properties).
    Returns (custom_job, executor_input); the caller runs the job's command locally.
    """
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2
    from tfx.extensions.google_cloud_ai_platform import training_clients
    from tfx.extensions.google_cloud_ai_platform.constants import VERTEX_REGION_KEY
    from tfx.extensions.google_cloud_ai_platform.trainer import executor as vertex_executor
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_entrypoint_utils as utils
    from tfx.utils import name_utils

    class OfflineVertexJobClient(training_clients.VertexJobClient):
        def create_client(self) -> None:  # Builds the job spec only; sends nothing.
            self._client = None

    executor_input = launcher.executor_input(task)
    parsed = json_format.ParseDict(executor_input, pipeline_spec_pb2.ExecutorInput())
    container_args = launcher.executor(task)["container"]["args"]
    inputs_spec = pipeline_spec_pb2.ComponentInputsSpec()
    json_format.Parse(
        container_args[container_args.index("--json_serialized_inputs_spec_args") + 1], inputs_spec
    )
    names: dict = {}
    exec_properties = utils.parse_execution_properties(
        parsed.inputs.parameter_values, parsed.inputs.parameters, inputs_spec
    )
    custom_config = json.loads(exec_properties["custom_config"])
    job_args = dict(custom_config[vertex_executor.TRAINING_ARGS_KEY])
    job_args.pop("project")
    executor_class = vertex_executor.GenericExecutor()._GetExecutorClass()
    job = OfflineVertexJobClient(custom_config[VERTEX_REGION_KEY]).create_training_job(
        utils.parse_raw_artifact_dict(parsed.inputs.artifacts, names),
        utils.parse_raw_artifact_dict(parsed.outputs.artifacts, names),
        exec_properties,
        name_utils.get_full_name(executor_class),
        job_args,
        None,
        None,
    )
    return job, executor_input


def run_vertex_training(launcher: LocalLauncher, task: str) -> dict:
    """Runs the Vertex training job's worker command here; records the task's outputs."""
    job, executor_input = vertex_training_job(launcher, task)
    (pool,) = job["job_spec"]["worker_pool_specs"]
    command = pool["container_spec"]["command"]
    assert command[:2] == ["python", "-m"], f"unexpected worker command {command[:3]}"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    result = subprocess.run(
        [launcher.python, *command[1:]],
        capture_output=True,
        text=True,
        env=env,
        timeout=launcher.timeout,
    )
    if result.returncode != 0:
        raise StepFailed(
            f"Vertex worker of {task} exited {result.returncode}:\n{result.stderr[-4000:]}"
        )
    # On Vertex the launcher step reports the job's outputs once it finishes.
    launcher.outputs[task] = {"artifacts": executor_input["outputs"]["artifacts"]}
    return job
