"""Tests for compiling to a Vertex PipelineJob JSON and the Vertex TPU training job."""

import json

import pytest
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from components.errors import BertpipeError
from pipelines.deployment import DeploymentConfig, ImageConfig, VertexConfig
from pipelines.runners import kubeflow, vertex
from pipelines.tpu import TpuConfig
from tests.pipelines.runners import stand_in
from tests.test_no_secrets import scan

IMAGE = "us-docker.pkg.dev/p/bertpipe/bertpipe:0.1.0"
TPU_IMAGE = IMAGE + "-tpu"
ROOT = "gs://b/root"
SA = "runner@p.iam.gserviceaccount.com"


def deployment(**kwargs):
    kwargs.setdefault("images", ImageConfig(default=IMAGE, tpu=TPU_IMAGE))
    kwargs.setdefault("vertex", VertexConfig(project="p", region="us-central1", service_account=SA))
    kwargs.setdefault("tpu", TpuConfig("tpu-v5-lite-podslice", "2x4", spot=True))
    return DeploymentConfig(**kwargs)


def pipeline(config, base=None, trainer_class="vertex", root=ROOT):
    from tfx.v1.extensions import google_cloud_ai_platform

    vertex_trainer = trainer_class == "vertex"
    return stand_in.create_pipeline(
        root=root,
        examples_dir="gs://b/examples",
        push_dir="gs://b/serving",
        beam_pipeline_args=config.beam_pipeline_args(),
        trainer_class=google_cloud_ai_platform.Trainer if vertex_trainer else None,
        custom_config=vertex.vertex_trainer_custom_config(config, base=base)
        if vertex_trainer
        else base,
    )


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    config = deployment()
    path = str(tmp_path_factory.mktemp("vertex") / "pipeline.json")
    return path, vertex.compile_vertex(
        pipeline(config, base={"experiment": "bert/tiny"}), config, path
    )


def trainer_custom_config(job):
    params = job["pipelineSpec"]["root"]["dag"]["tasks"]["Trainer"]["inputs"]["parameters"]
    return json.loads(params["custom_config"]["runtimeValue"]["constant"])


def test_json_is_a_pipeline_job_with_the_root_kept(compiled):
    path, _ = compiled
    with open(path) as f:
        job = json_format.ParseDict(json.load(f), pipeline_spec_pb2.PipelineJob())  # Strict.
    assert job.runtime_config.gcs_output_directory == ROOT
    assert job.pipeline_spec["schemaVersion"] == "2.1.0"


def test_aiplatform_pipeline_job_accepts_the_file(compiled):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    path, _ = compiled
    job = aiplatform.PipelineJob(
        display_name="stand-in",
        template_path=path,
        project="p",
        location="us-central1",
        credentials=AnonymousCredentials(),
    )
    assert job._gca_resource.runtime_config.gcs_output_directory == ROOT
    assert job._gca_resource.pipeline_spec["pipelineInfo"]["name"] == "stand-in"


def test_training_job_is_a_custom_job_on_the_tpu_slice(compiled):
    from google.cloud.aiplatform_v1.types import Scheduling

    _, job = compiled
    custom_config = trainer_custom_config(job)
    assert custom_config["experiment"] == "bert/tiny"  # The run_fn's own config is kept.
    custom_job = vertex.check_training_job(custom_config)
    (pool,) = custom_job.job_spec.worker_pool_specs
    assert (pool.machine_spec.machine_type, pool.machine_spec.tpu_topology) == (
        "ct5lp-hightpu-8t",
        "2x4",
    )
    assert pool.replica_count == 1 and pool.container_spec.image_uri == TPU_IMAGE
    assert custom_job.job_spec.scheduling.strategy == Scheduling.Strategy.SPOT
    assert custom_job.job_spec.service_account == SA


def test_steps_get_cpu_memory_limits_and_the_extension_executor(compiled):
    _, job = compiled
    executors = job["pipelineSpec"]["deploymentSpec"]["executors"]
    trainer = executors["Trainer_executor"]["container"]
    assert (
        trainer["args"][1]
        == "tfx.extensions.google_cloud_ai_platform.trainer.executor.GenericExecutor"
    )
    assert trainer["image"] == IMAGE  # The launcher step; the TPU image runs in the job.
    for name in ("StatisticsGen_executor", "Trainer_executor", "Pusher_executor"):
        assert executors[name]["container"]["resources"] == {"cpuLimit": 1.0, "memoryLimit": 4.0}


@pytest.mark.parametrize(
    "config,kwargs,message",
    [
        (deployment(), {"trainer_class": "standard"}, "must train with tfx.extensions"),
        (
            deployment(vertex=VertexConfig()),
            {"trainer_class": "standard"},
            "vertex.project is empty",
        ),
        (deployment(), {"root": "/tmp/root"}, "cannot see this machine's disk"),
    ],
)
def test_compile_refuses_what_vertex_cannot_run(config, kwargs, message):
    with pytest.raises(BertpipeError, match=message):
        vertex.compile_vertex(pipeline(config, **kwargs), config)


def test_trainer_config_needs_tpu_and_keeps_extension_keys_to_itself():
    with pytest.raises(BertpipeError, match="needs a tpu section"):
        vertex.vertex_trainer_custom_config(deployment(tpu=None))
    with pytest.raises(BertpipeError, match=r"must not set \['ai_platform_training_args'\]"):
        vertex.vertex_trainer_custom_config(deployment(), base={"ai_platform_training_args": {}})


def test_invalid_job_spec_is_named():
    config = vertex.vertex_trainer_custom_config(deployment())
    config["ai_platform_training_args"]["job_spec"]["worker_pool_specs"][0]["machine_type"] = "x"
    with pytest.raises(BertpipeError, match="not a valid CustomJob: .*machine_type"):
        vertex.check_training_job(config)


def test_no_credentials_in_compiled_files(compiled):
    path, _ = compiled
    with open(path) as f:
        assert scan(f.read()) == []


@pytest.mark.parametrize("target", ["vertex", "kubeflow"])
def test_compilers_refuse_to_write_a_planted_token(target):
    planted = {"token": "ya29." + "a1B2c3" * 5}
    config = deployment()
    if target == "vertex":
        with pytest.raises(BertpipeError, match="would contain a credential"):
            vertex.compile_vertex(pipeline(config, base=planted), config)
    else:
        built = pipeline(config, base=planted, trainer_class="standard")
        with pytest.raises(BertpipeError, match=r"credential \(Google OAuth access token\)"):
            kubeflow.compile_kubeflow(built, config, evaluator_id=None)
