"""The Vertex Trainer extension's CustomJob, built by TFX's own client and run here.

On Vertex the Trainer step (`tfx.extensions.google_cloud_ai_platform.Trainer`) only asks
Vertex for a CustomJob and waits; the training runs in the job's worker pool. Here the
step's ExecutorInput (from `LocalLauncher`) is parsed the way the step's entrypoint does
and handed to TFX's `VertexJobClient.create_training_job`, which writes the worker pool's
command (`python -m tfx.scripts.run_executor ...` with the artifacts and exec properties);
that command then runs through the launcher's `start` function with the bucket mounted at
/gcs, as a Vertex worker has it.
"""

from __future__ import annotations

import json

from tests.pipelines.runners import pod as pod_lib
from tests.pipelines.runners.launcher import LocalLauncher, StepFailed, image_env


def vertex_training_job(launcher: LocalLauncher, task: str) -> tuple[dict, dict, dict]:
    """(the CustomJob the step would create, its ExecutorInput as sent, as the step sees it)."""
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

    original, executor_input, _ = launcher.executor_input(task)
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
    return job, original, executor_input


def run_vertex_training(launcher: LocalLauncher, task: str) -> dict:
    """Runs the CustomJob's worker command; publishes the step's outputs; returns the job."""
    import sys

    job, original, _ = vertex_training_job(launcher, task)
    (pool,) = job["job_spec"]["worker_pool_specs"]
    command = pool["container_spec"]["command"]
    assert command[:2] == ["python", "-m"], f"unexpected worker command {command[:3]}"
    pod_dir = launcher.workdir / f"{task}-worker"
    (pod_dir / "home").mkdir(parents=True, exist_ok=True)
    bucket, local = launcher.substitutions[0]
    spec = pod_lib.PodSpec(
        command=(sys.executable, *command[1:]),
        env=image_env(str(pod_dir / "home")),
        mounts={"/gcs/" + bucket.removeprefix("gs://"): local},
        workdir=str(pod_dir / "home"),
    )
    with open(pod_dir / "log.txt", "w") as log:
        process = launcher.start(spec, log)
        process.wait(timeout=launcher.timeout)
    text = (pod_dir / "log.txt").read_text()
    if process.returncode != 0:
        raise StepFailed(f"Vertex worker of {task} exited {process.returncode}:\n{text[-4000:]}")
    launcher.logs[task] = text
    # The step reports the job's outputs once it finishes (no output metadata of its own).
    launcher.publish(task, original, {"artifacts": {}})
    return job
