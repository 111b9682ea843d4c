"""Every compiled step names its own command, so the image ENTRYPOINT (Beam's boot) never runs.

A Kubernetes container `command` replaces the image ENTRYPOINT. KFP 2.3.0's driver puts
the KFP launcher in the pod's `command` and the step's compiled command + args in `args`
(backend/src/v2/driver/driver.go:386-390 and 456-457, tag 2.3.0); the launcher then runs
the step's command itself (backend/src/v2/component/launcher_v2.go:399, `exec.Command`).
Vertex's ContainerSpec.command "overrides the entrypoint instruction in Dockerfile when
provided" (google-cloud-aiplatform, aiplatform_v1/types/custom_job.py, ContainerSpec).
Both hold only if every step has a command: this checks the compiled files.
"""

import pytest

from tests.pipelines.runners import compiled


@pytest.mark.parametrize(
    "target,config,name",
    [
        ("kubeflow", compiled.KUBEFLOW_CONFIG, "pipeline.yaml"),
        ("vertex", compiled.VERTEX_CONFIG, "pipeline.json"),
    ],
)
def test_every_compiled_container_step_sets_its_command(tmp_path, target, config, name):
    output = str(tmp_path / name)
    compiled.compile_config(target, config, output)
    document = compiled.documents(output)[0]
    spec = document if target == "kubeflow" else document["pipelineSpec"]
    executors = spec["deploymentSpec"]["executors"]
    containers = {k: e["container"] for k, e in executors.items() if "container" in e}
    assert containers, "no container steps compiled"
    commands = {k: c.get("command", [])[:3] for k, c in containers.items()}
    assert set(commands) == {
        "VocabGen_executor",
        "MaskedLMExampleGen_executor",
        "Trainer_executor",
        "MaskedLMEvaluator_executor",
        "Pusher_executor",
    }
    for key, command in commands.items():
        assert command[:2] == ["python", "-m"], f"{key}: {command}"
