"""Tests for `bertpipe compile --target vertex`: the real pipeline as a Vertex PipelineJob JSON,
with the Trainer as a Vertex TPU CustomJob.

Compiled from pipelines/configs/vertex-tpu.yaml, the file users start from. The compiler's
own guards that the real pipeline never trips are checked on the stand-in pipeline.
"""

import json

import pytest
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from components.errors import BertpipeError
from pipelines import config as config_lib
from pipelines.runners import vertex
from tests.pipelines.runners import compiled, stand_in
from tests.test_no_secrets import scan

EXAMPLE = compiled.VERTEX_CONFIG
IMAGE = "us-docker.pkg.dev/my-project/bertpipe/bertpipe:0.1.0"
ROOT = "gs://my-project-bertpipe/vertex-root"
SA = "bertpipe-runner@my-project.iam.gserviceaccount.com"
EXTENSION_EXECUTOR = "tfx.extensions.google_cloud_ai_platform.trainer.executor.GenericExecutor"


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("vertex") / "pipeline.json")
    return path, compiled.compile_config("vertex", EXAMPLE, path)


def job(package):
    (document,) = compiled.documents(package[0])
    return document


def test_compile_says_what_it_wrote_and_how_to_submit_it(package):
    path, result = package
    lines = result.out.splitlines()
    assert lines[0] == f"bertpipe: compiled bertpipe-base-vertex for vertex: {path}"
    assert "  TPU: Trainer as a Vertex CustomJob on ct5lp-hightpu-8t 2x4" in lines
    assert lines[-1] == (
        f"  bertpipe submit --target vertex --package {path} --project my-project "
        "--region us-central1"
    )


def test_json_is_a_pipeline_job_with_the_root_kept(package):
    with open(package[0]) as f:
        parsed = json_format.ParseDict(json.load(f), pipeline_spec_pb2.PipelineJob())  # Strict.
    assert parsed.runtime_config.gcs_output_directory == ROOT
    assert parsed.pipeline_spec["schemaVersion"] == "2.1.0"
    tasks = set(parsed.pipeline_spec["root"]["dag"]["tasks"])
    assert tasks == {
        "VocabGen",
        "MaskedLMExampleGen",
        "Trainer",
        "MaskedLMEvaluator",
        "Pusher",
        # baseline: latest_blessed; Vertex runs Resolver nodes.
        "latest_blessed_model_resolver-model-blessing-resolver",
        "latest_blessed_model_resolver-model-resolver",
    }


def test_the_trainer_step_is_retried_after_a_failure_such_as_preemption(package):
    spec = json_format.ParseDict(job(package)["pipelineSpec"], pipeline_spec_pb2.PipelineSpec())
    retried = [name for name, task in spec.root.dag.tasks.items() if task.HasField("retry_policy")]
    assert retried == ["Trainer"]
    assert spec.root.dag.tasks["Trainer"].retry_policy.max_retry_count == 3


def test_aiplatform_pipeline_job_accepts_the_file(package):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    built = aiplatform.PipelineJob(
        display_name="bertpipe-base-vertex",
        template_path=package[0],
        project="my-project",
        location="us-central1",
        credentials=AnonymousCredentials(),
    )
    assert built._gca_resource.runtime_config.gcs_output_directory == ROOT
    assert built._gca_resource.pipeline_spec["pipelineInfo"]["name"] == "bertpipe-base-vertex"


def test_training_job_is_a_custom_job_on_the_tpu_slice(package):
    custom_config = compiled.custom_config(job(package)["pipelineSpec"])
    # The run_fn's own config is kept, with the TPU runtime settings.
    assert custom_config["experiment"] == "bert/base_seq128"
    assert custom_config["experiment_config"]["runtime"] == {
        "distribution_strategy": "tpu",
        "tpu": "local",
        "mixed_precision_dtype": "bfloat16",
    }
    assert custom_config["ai_platform_vertex_region"] == "us-central1"
    custom_job = vertex.check_training_job(custom_config)
    (pool,) = custom_job.job_spec.worker_pool_specs
    assert (pool.machine_spec.machine_type, pool.machine_spec.tpu_topology) == (
        "ct5lp-hightpu-8t",
        "2x4",
    )
    assert pool.replica_count == 1 and pool.container_spec.image_uri == IMAGE + "-tpu"
    assert custom_job.job_spec.service_account == SA
    assert "scheduling" not in custom_config["ai_platform_training_args"]["job_spec"]  # On demand.


def test_steps_get_cpu_memory_limits_and_the_trainer_the_extension(package):
    executors = job(package)["pipelineSpec"]["deploymentSpec"]["executors"]
    containers = {k: v["container"] for k, v in executors.items() if "container" in v}
    assert sorted(containers) == sorted(
        f"{s}_executor"
        for s in ("VocabGen", "MaskedLMExampleGen", "Trainer", "MaskedLMEvaluator", "Pusher")
    )
    assert containers["Trainer_executor"]["args"][1] == EXTENSION_EXECUTOR
    for container in containers.values():
        # Vertex sizes each step's machine from the limits (BERT-base default: 4 CPU, 16 GB).
        assert container["resources"] == {"cpuLimit": 4.0, "memoryLimit": 16.0}
        assert container["image"] == IMAGE  # The Trainer's launcher too; the job runs -tpu.
    dataflow = config_lib.load(EXAMPLE).deployment.beam_pipeline_args()
    assert containers["VocabGen_executor"]["args"][-len(dataflow) :] == dataflow


def test_spot_and_another_slice_reach_the_training_job(tmp_path):
    path = str(tmp_path / "p.json")
    compiled.compile_config(
        "vertex",
        EXAMPLE,
        path,
        "deployment.tpu.accelerator=tpu-v6e-slice",
        "deployment.tpu.topology=2x2",
        "deployment.tpu.spot=true",
    )
    (document,) = compiled.documents(path)
    custom_job = vertex.check_training_job(compiled.custom_config(document["pipelineSpec"]))
    (pool,) = custom_job.job_spec.worker_pool_specs
    assert (pool.machine_spec.machine_type, pool.machine_spec.tpu_topology) == (
        "ct6e-standard-4t",
        "2x2",
    )
    assert custom_job.job_spec.scheduling.strategy.name == "SPOT"


def test_no_credentials_in_compiled_files(package):
    with open(package[0]) as f:
        assert scan(f.read()) == []


def test_compile_refuses_to_write_a_planted_token(tmp_path):
    token = "ya29." + "a1B2c3" * 5
    result = compiled.bertpipe(
        "compile",
        "--target",
        "vertex",
        "--config",
        EXAMPLE,
        "--output",
        str(tmp_path / "p.json"),
        "--set",
        # A real setting (unknown keys are refused before compiling) holding the token.
        f'training.params=["task.init_checkpoint=gs://b/{token}"]',
    )
    assert result.code == 2 and token not in result.err
    assert "would contain a credential (Google OAuth access token)" in result.err
    assert not (tmp_path / "p.json").exists()


# The compiler's own guards, on the stand-in pipeline (the real one never trips them).
def test_a_tpu_section_needs_the_vertex_trainer_extension():
    config = config_lib.load(EXAMPLE).deployment
    built = stand_in.create_pipeline(
        root=ROOT, examples_dir="gs://b/examples", push_dir="gs://b/serving"
    )
    with pytest.raises(BertpipeError, match="must train with tfx.extensions"):
        vertex.compile_vertex(built, config)


def test_trainer_config_needs_tpu_and_keeps_extension_keys_to_itself():
    import dataclasses

    config = config_lib.load(EXAMPLE).deployment
    with pytest.raises(BertpipeError, match="needs a tpu section"):
        vertex.vertex_trainer_custom_config(dataclasses.replace(config, tpu=None))
    with pytest.raises(BertpipeError, match=r"must not set \['ai_platform_training_args'\]"):
        vertex.vertex_trainer_custom_config(config, base={"ai_platform_training_args": {}})


def test_invalid_job_spec_is_named():
    custom = vertex.vertex_trainer_custom_config(config_lib.load(EXAMPLE).deployment)
    custom["ai_platform_training_args"]["job_spec"]["worker_pool_specs"][0]["machine_type"] = "x"
    with pytest.raises(BertpipeError, match="not a valid CustomJob: .*machine_type"):
        vertex.check_training_job(custom)
