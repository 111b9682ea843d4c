"""Tests for the deployment sections: loading, impossible combinations, Beam arguments."""

import pytest
from apache_beam.options.pipeline_options import (
    GoogleCloudOptions,
    PipelineOptions,
    SetupOptions,
    StandardOptions,
    WorkerOptions,
)

from components import configs
from components.errors import BertpipeError
from pipelines import deployment
from pipelines.deployment import DeploymentConfig
from pipelines.tpu import TpuConfig

IMAGE = "us-docker.pkg.dev/p/bertpipe/bertpipe:0.1.0"
DATAFLOW = {"project": "p", "region": "us-central1", "temp_location": "gs://b/tmp"}


def load(data, source="deploy.yaml"):
    return configs.from_dict(DeploymentConfig, data, source=source)


def test_sections_load_from_plain_data_with_defaults():
    config = load(
        {
            "images": {"default": IMAGE, "components": {"VocabGen": IMAGE + "-big"}},
            "tpu": {"accelerator": "tpu-v6e-slice", "topology": "2x2"},
            "kubeflow": {"host": "http://localhost:8080"},
        }
    )
    assert config.tpu == TpuConfig("tpu-v6e-slice", "2x2")
    assert config.images.for_component("VocabGen") == IMAGE + "-big"
    assert config.images.for_component("Trainer", on_tpu=True) == IMAGE  # No tpu image.
    assert config.beam.runner == "DirectRunner" and config.kubeflow.experiment == "bertpipe"
    assert configs.from_json(DeploymentConfig, configs.to_json(config)) == config


@pytest.mark.parametrize(
    "data,message",
    [
        ({"tpu": {"topology": "4x4"}}, r"tpu of deploy.yaml: topology '4x4' .* multi-host"),
        ({"tpu_evaluator": True}, "tpu_evaluator is true but there is no tpu section"),
        ({"beam": {"runner": "DataflowRunner"}}, "no beam.dataflow section"),
        ({"beam": {"dataflow": DATAFLOW}}, "beam.dataflow is set but beam.runner is Direct"),
        (
            {"beam": {"runner": "DataflowRunner", "dataflow": {**DATAFLOW, "temp_location": "/t"}}},
            "temp_location must be a gs:// path",
        ),
        ({"resources": {"cpu_request": 4, "cpu_limit": 2}}, "cpu_limit .* is below"),
        ({"kubeflow": {"host": "localhost:8080"}}, "kubeflow.host 'localhost:8080' needs a"),
        ({"images": {"default": "Bertpipe Image"}}, "is not a container image reference"),
        ({"beam": {"runner": "SparkRunner"}}, r"'beam.runner' .* must be one of"),
    ],
)
def test_impossible_combinations_say_why(data, message):
    with pytest.raises(BertpipeError, match=message):
        load(data)


@pytest.mark.parametrize(
    "root,message",
    [
        ("minio://mlpipeline/v2", "no minio:// scheme"),
        ("s3://bucket/root", "no s3:// file system"),
        ("/tmp/root", "cannot see this machine's disk"),
        ("gs://", "Use a Cloud Storage path"),
    ],
)
def test_cloud_pipeline_root_must_be_gcs(root, message):
    with pytest.raises(BertpipeError, match=message):
        deployment.check_pipeline_root(root, "kubeflow")
    assert deployment.check_pipeline_root("gs://b/root", "vertex") == "gs://b/root"


@pytest.mark.parametrize(
    "data,target,message",
    [
        ({}, "kubeflow", "images.default is empty"),
        ({"images": {"default": "bertpipe:0.1.0"}}, "kubeflow", "names no registry"),
        ({"images": {"default": IMAGE}}, "vertex", "vertex.project is empty"),
        (
            {
                "images": {"default": IMAGE},
                "tpu": {},
                "tpu_evaluator": True,
                "vertex": {"project": "p"},
            },
            "vertex",
            "tpu_evaluator is Kubeflow-only",
        ),
        ({"images": {"default": IMAGE}}, "argo", "target must be one of"),
    ],
)
def test_check_target_rejects_what_cannot_run_there(data, target, message):
    with pytest.raises(BertpipeError, match=message):
        load(data).check_target(target, "gs://b/root")


def test_tpu_steps_and_trainer_overrides_follow_the_tpu_section():
    assert DeploymentConfig().tpu_component_ids("Trainer", "Eval") == ()
    assert DeploymentConfig().trainer_runtime_overrides() == {}
    on_tpu = DeploymentConfig(tpu=TpuConfig(), tpu_evaluator=True)
    assert on_tpu.tpu_component_ids("Trainer", "Eval") == ("Trainer", "Eval")
    assert on_tpu.trainer_runtime_overrides() == {
        "runtime": {
            "distribution_strategy": "tpu",
            "tpu": "local",
            "mixed_precision_dtype": "bfloat16",
        }
    }


def test_direct_runner_uses_one_worker_per_requested_cpu():
    config = load({"resources": {"cpu_request": 3, "memory_request_gb": 8}})
    assert config.beam_pipeline_args() == [
        "--runner=DirectRunner",
        "--direct_running_mode=multi_processing",
        "--direct_num_workers=3",
    ]


def test_dataflow_args_are_options_beam_parses():
    config = load(
        {
            "images": {"default": IMAGE},
            "beam": {
                "runner": "DataflowRunner",
                "dataflow": {
                    **DATAFLOW,
                    "staging_location": "gs://b/staging",
                    "machine_type": "n2-standard-8",
                    "max_num_workers": 50,
                    "service_account_email": "df@p.iam.gserviceaccount.com",
                },
            },
        }
    )
    args = config.beam_pipeline_args()
    options = PipelineOptions(args)
    cloud, worker = options.view_as(GoogleCloudOptions), options.view_as(WorkerOptions)
    assert options.view_as(StandardOptions).runner == "DataflowRunner"
    assert (cloud.project, cloud.region) == ("p", "us-central1")
    assert (cloud.temp_location, cloud.staging_location) == ("gs://b/tmp", "gs://b/staging")
    assert cloud.service_account_email == "df@p.iam.gserviceaccount.com"
    assert (worker.machine_type, worker.max_num_workers) == ("n2-standard-8", 50)
    assert worker.sdk_container_image == IMAGE  # The bertpipe image, by default.
    assert options.view_as(SetupOptions).sdk_location == "container"
    # Every argument is one Beam knows: nothing is silently dropped.
    known = options.get_all_options(drop_default=True, retain_unknown_options=False)
    assert len(known) == len(args)
