"""Tests for `bertpipe compile --target kubeflow`: the real pipeline as the two-document KFP YAML.

Compiled from pipelines/configs/kubeflow-gke-tpu.yaml, the file users start from. The
compiler's refusals of nodes open-source KFP cannot run (Resolver, FileBasedExampleGen) are
checked on the small stand-in pipeline (stand_in.py), since the real one never has them.
"""

import re

import pytest
from apache_beam.options.pipeline_options import GoogleCloudOptions, PipelineOptions
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from components.errors import BertpipeError
from pipelines import config as config_lib
from pipelines.deployment import DeploymentConfig, ImageConfig
from pipelines.runners import cloud, kubeflow
from pipelines.tpu import TPU_RESOURCE, TpuConfig
from tests.pipelines.runners import compiled, kfp_protos, stand_in
from tests.test_no_secrets import scan

EXAMPLE = compiled.KUBEFLOW_CONFIG
TPU = TpuConfig("tpu-v5-lite-podslice", "2x4", spot=True)  # The example's tpu section.
IMAGE = "us-docker.pkg.dev/my-project/bertpipe/bertpipe:0.1.0"
TPU_IMAGE = IMAGE + "-tpu"
STEPS = ["VocabGen", "MaskedLMExampleGen", "Trainer", "MaskedLMEvaluator", "Pusher"]


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("kfp") / "pipeline.yaml")
    return path, compiled.compile_config("kubeflow", EXAMPLE, path)


def executors(spec):
    return spec["deploymentSpec"]["executors"]


def platform_executors(platform):
    return platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]


def tpu_placements(platform):
    """The executors placed on the TPU node pool, without their input staging volumes."""
    return {
        label: {k: v for k, v in executor.items() if k != "genericEphemeralVolume"}
        for label, executor in platform_executors(platform).items()
        if "nodeSelector" in executor
    }


def test_compile_says_what_it_wrote_and_how_to_submit_it(package):
    path, result = package
    assert result.out.splitlines() == [
        f"bertpipe: compiled bertpipe-base for kubeflow: {path}",
        f"  steps: {', '.join(STEPS)}",
        "  TPU: Trainer on GKE nodes tpu-v5-lite-podslice 2x4 (ct5lp-hightpu-8t, "
        "google.com/tpu: 8), Spot",
        "  Beam: DataflowRunner in my-project/us-central1, up to 50 x n1-standard-8",
        f"  images: {IMAGE}, TPU steps {TPU_IMAGE}",
        "  pipeline root: gs://my-project-bertpipe/pipeline-root",
        "submit it:",
        f"  bertpipe submit --target kubeflow --package {path} --host http://localhost:8080 "
        "--pipeline-root gs://my-project-bertpipe/pipeline-root",
    ]
    assert result.err == ""


def test_both_documents_parse_into_kfp_protos_with_no_unknown_field(package):
    path, _ = package
    spec_doc, platform_doc = compiled.documents(path)
    spec = json_format.ParseDict(spec_doc, pipeline_spec_pb2.PipelineSpec())  # Strict.
    platform = json_format.ParseDict(platform_doc, pipeline_spec_pb2.PlatformSpec())
    assert spec.schema_version == "2.1.0" and spec.pipeline_info.name == "bertpipe-base"
    assert sorted(spec.root.dag.tasks) == sorted(STEPS)
    placed = platform.platforms["kubernetes"].deployment_spec.executors
    assert sorted(placed) == ["MaskedLMEvaluator_executor", "Pusher_executor", "Trainer_executor"]
    trainer = json_format.ParseDict(
        json_format.MessageToDict(placed["Trainer_executor"]),
        kfp_protos.kubernetes_executor_config()(),
    )
    assert dict(trainer.node_selector.labels) == TPU.node_selector()
    assert [(t.key, t.operator, t.value, t.effect) for t in trainer.tolerations] == [
        (t["key"], t["operator"], t.get("value", ""), t["effect"]) for t in TPU.tolerations()
    ]


def test_kfp_loader_and_client_accept_the_file(package):
    import kfp.components
    from kfp.client import client

    path, _ = package
    assert kfp.components.load_component_from_file(path).name == "bertpipe-base"
    spec_doc, platform_doc = compiled.documents(path)
    document = client._extract_pipeline_yaml(path).to_dict()  # What the client sends.
    assert document == {"pipeline_spec": spec_doc, "platform_spec": platform_doc}


def test_only_the_trainer_gets_the_tpu_placement_limit_and_image(package):
    path, _ = package
    spec, platform = compiled.documents(path)
    containers = {k: v["container"] for k, v in executors(spec).items()}
    assert sorted(containers) == sorted(f"{s}_executor" for s in STEPS)
    trainer = containers.pop("Trainer_executor")
    # Chips as the accelerator limit, and CPU/memory requests: Burstable, not BestEffort.
    assert trainer["resources"] == {
        "accelerator": {"type": TPU_RESOURCE, "count": "8"},
        "cpuRequest": 8.0,
        "memoryRequest": 32.0,
    }
    assert trainer["image"] == TPU_IMAGE
    for container in containers.values():
        assert container["resources"] == {"cpuRequest": 4.0, "memoryRequest": 16.0}
        assert container["image"] == IMAGE
    assert tpu_placements(platform) == {"Trainer_executor": TPU.kfp_executor_config()}


def test_only_the_trainer_is_retried_after_a_failure_such_as_preemption(package):
    path, _ = package
    spec_doc, _ = compiled.documents(path)
    spec = json_format.ParseDict(spec_doc, pipeline_spec_pb2.PipelineSpec())
    retried = {
        name: task.retry_policy
        for name, task in spec.root.dag.tasks.items()
        if task.HasField("retry_policy")
    }
    assert list(retried) == ["Trainer"]
    assert retried["Trainer"].max_retry_count == DeploymentConfig().trainer_retries == 3
    assert retried["Trainer"].backoff_duration.seconds == 60
    assert retried["Trainer"].backoff_factor == 2.0
    # Unset: KFP 2.5.0's Argo compiler would make it Argo's maxDuration, a deadline from
    # the first attempt's start after which a preempted Trainer is not retried.
    assert not retried["Trainer"].HasField("backoff_max_duration")


def test_every_step_gets_the_resources_the_deployment_names_for_it(tmp_path):
    path = str(tmp_path / "p.yaml")
    compiled.compile_config(
        "kubeflow",
        EXAMPLE,
        path,
        "deployment.step_resources.Pusher={cpu_request: 1, memory_request_gb: 2}",
        "deployment.tpu_host_resources={cpu_request: 20, memory_request_gb: 100, "
        "memory_limit_gb: 150}",
    )
    spec, _ = compiled.documents(path)
    resources = {k: v["container"]["resources"] for k, v in executors(spec).items()}
    assert resources["Pusher_executor"] == {"cpuRequest": 1.0, "memoryRequest": 2.0}
    assert resources["Trainer_executor"] == {
        "accelerator": {"type": TPU_RESOURCE, "count": "8"},
        "cpuRequest": 20.0,
        "memoryRequest": 100.0,
        "memoryLimit": 150.0,
    }
    assert resources["VocabGen_executor"] == {"cpuRequest": 4.0, "memoryRequest": 16.0}


@pytest.mark.parametrize(
    "override,message",
    [
        ("deployment.step_resources.Pushr={cpu_request: 1}", r"\['Pushr'\] not found"),
        ("deployment.resources.cpu_request=0", "cpu_request is 0; every step needs"),
        ("deployment.step_resources.Pusher={cpu: 1}", "unknown key 'step_resources.Pusher.cpu'"),
    ],
)
def test_resources_without_requests_or_for_unknown_steps_are_refused(tmp_path, override, message):
    path = str(tmp_path / "p.yaml")
    result = compiled.bertpipe(
        "compile", "--target", "kubeflow", "--config", EXAMPLE, "--output", path, "--set", override
    )
    assert result.code == 2 and result.err.count("\n") == 1
    assert re.search(message, result.err), result.err


def test_trainer_experiment_switches_to_the_tpu_strategy_and_bfloat16(package):
    path, _ = package
    spec, _ = compiled.documents(path)
    assert compiled.custom_config(spec) == {
        "experiment": "bert/base_seq128",
        "experiment_config": {
            "runtime": {
                "distribution_strategy": "tpu",
                "tpu": "local",
                "mixed_precision_dtype": "bfloat16",
            }
        },
        "params": [],
        # Cross-run resume (pipelines/runners/resume.py): keyed by root, not run.
        "checkpoint_root": "gs://my-project-bertpipe/pipeline-root/checkpoints/Trainer",
    }


def test_dataflow_args_reach_the_data_steps(package):
    path, _ = package
    spec, _ = compiled.documents(path)
    expected = config_lib.load(EXAMPLE).deployment.beam_pipeline_args()
    for step in ("VocabGen", "MaskedLMExampleGen"):
        args = executors(spec)[f"{step}_executor"]["container"]["args"]
        assert args[-len(expected) :] == expected
        options = PipelineOptions(args[-len(expected) :])
        assert options.get_all_options()["runner"] == "DataflowRunner"
        assert options.view_as(GoogleCloudOptions).temp_location == "gs://my-project-bertpipe/tmp"
        assert options.get_all_options()["sdk_container_image"] == IMAGE


def test_evaluator_on_tpu_gets_the_same_placement(tmp_path):
    path = str(tmp_path / "p.yaml")
    compiled.compile_config("kubeflow", EXAMPLE, path, "deployment.tpu_evaluator=true")
    spec, platform = compiled.documents(path)
    placed = tpu_placements(platform)
    assert sorted(placed) == ["MaskedLMEvaluator_executor", "Trainer_executor"]
    assert placed["MaskedLMEvaluator_executor"] == placed["Trainer_executor"]
    evaluator = executors(spec)["MaskedLMEvaluator_executor"]["container"]
    assert evaluator["image"] == TPU_IMAGE and "accelerator" in evaluator["resources"]


def test_without_tpu_the_trainer_stays_on_cpu_and_no_step_is_placed(tmp_path):
    path = str(tmp_path / "p.yml")
    result = compiled.compile_config("kubeflow", EXAMPLE, path, "deployment.tpu=null")
    spec, platform = compiled.documents(path)
    assert tpu_placements(platform) == {}
    assert all("accelerator" not in e["container"]["resources"] for e in executors(spec).values())
    assert compiled.custom_config(spec)["experiment_config"] == {}
    assert "  TPU: none (the Trainer runs on a CPU machine)" in result.out.splitlines()


def test_compile_leaves_the_pipeline_as_it_was():
    config = config_lib.load(EXAMPLE)
    cloud.check_config(config, "kubeflow")
    built = cloud.build_pipeline(config, "kubeflow")
    cloud.compile_pipeline(built, config, "kubeflow")
    assert all(getattr(c, "platform_config", None) is None for c in built.components)


def test_compiled_file_holds_no_credentials(package):
    path, _ = package
    with open(path) as f:
        text = f.read()
    assert scan(text) == []
    assert "service_account_email=bertpipe-runner@" in text  # An identity, not a key.


def test_compile_refuses_to_write_a_planted_token(tmp_path):
    token = "ya29." + "a1B2c3" * 5
    result = compiled.bertpipe(
        "compile",
        "--target",
        "kubeflow",
        "--config",
        EXAMPLE,
        "--output",
        str(tmp_path / "p.yaml"),
        "--set",
        # A real setting (unknown keys are refused before compiling) holding the token.
        f'training.params=["task.init_checkpoint=gs://b/{token}"]',
    )
    assert result.code == 2 and token not in result.err
    assert "would contain a credential (Google OAuth access token)" in result.err
    assert not (tmp_path / "p.yaml").exists()


# The compiler's own guards, on the stand-in pipeline (the real one never trips them).
STAND_IN_DEPLOYMENT = DeploymentConfig(images=ImageConfig(default=IMAGE), tpu=TPU)


def stand_in_pipeline(**kwargs):
    return stand_in.create_pipeline(
        root="gs://b/root", examples_dir="gs://b/examples", push_dir="gs://b/serving", **kwargs
    )


@pytest.mark.parametrize(
    "kwargs,compile_kwargs,message",
    [
        ({"resolver": True}, {}, r"Resolver node\(s\) \['LatestModel'\].*resolver executors"),
        ({}, {"trainer_id": "Train"}, r"TPU step\(s\) \['Train'\] not found .* 'Trainer'"),
    ],
)
def test_compiler_refuses_what_open_source_kfp_cannot_run(kwargs, compile_kwargs, message):
    with pytest.raises(BertpipeError, match=message):
        kubeflow.compile_kubeflow(
            stand_in_pipeline(**kwargs),
            STAND_IN_DEPLOYMENT,
            **{"evaluator_id": None, **compile_kwargs},
        )


def test_file_based_example_gen_is_refused():
    from tfx import v1 as tfx

    gen = tfx.components.ImportExampleGen(input_base="gs://b/in")
    built = tfx.dsl.Pipeline(pipeline_name="p", pipeline_root="gs://b/r", components=[gen])
    with pytest.raises(BertpipeError, match=r"\['ImportExampleGen'\] are FileBasedExampleGen"):
        kubeflow.compile_kubeflow(built, DeploymentConfig(images=ImageConfig(default=IMAGE)))


def test_input_artifacts_are_staged_on_volumes_of_their_own(package):
    # Defect 4: KFP 2.5.0 copies every input artifact under /gcs/<bucket> before the step
    # starts; the Trainer, evaluator and Pusher get a per-pod volume there (defaults).
    path, _ = package
    _, platform = compiled.documents(path)
    volumes = {
        label: executor.get("genericEphemeralVolume")
        for label, executor in platform_executors(platform).items()
    }
    expected = {"Trainer": "200Gi", "MaskedLMEvaluator": "200Gi", "Pusher": "20Gi"}
    assert volumes == {
        f"{step}_executor": [
            {
                "volumeName": "bertpipe-input-staging",
                "mountPath": "/gcs/my-project-bertpipe",
                "accessModes": ["ReadWriteOnce"],
                "size": size,
                "defaultStorageClass": True,
            }
        ]
        for step, size in expected.items()
    }
    for executor in platform_executors(platform).values():
        json_format.ParseDict(executor, kfp_protos.kubernetes_executor_config()())


def test_input_staging_can_be_sized_per_step_or_turned_off(tmp_path):
    path = str(tmp_path / "p.yaml")
    sets = ("deployment.tpu=null", "deployment.kubeflow.input_staging={Trainer: 2Ti}")
    compiled.compile_config("kubeflow", EXAMPLE, path, *sets)
    _, platform = compiled.documents(path)
    (volume,) = platform_executors(platform)["Trainer_executor"]["genericEphemeralVolume"]
    assert list(platform_executors(platform)) == ["Trainer_executor"]
    assert volume["size"] == "2Ti"
    path = str(tmp_path / "off.yaml")
    compiled.compile_config(
        "kubeflow", EXAMPLE, path, "deployment.tpu=null", "deployment.kubeflow.input_staging={}"
    )
    assert len(compiled.documents(path)) == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{Trainer: 500GB}", "quantity in Gi or Ti"),
        ("{Trainr: 500Gi}", "kubeflow.input_staging step(s) ['Trainr'] not found"),
    ],
)
def test_a_bad_input_staging_setting_fails_in_one_line(tmp_path, value, message):
    path = str(tmp_path / "p.yaml")
    result = compiled.bertpipe(
        "compile", "--target", "kubeflow", "--config", EXAMPLE, "--output", path,
        "--set", f"deployment.kubeflow.input_staging={value}",
    )  # fmt: skip
    assert result.code == 2
    assert message in result.err and len(result.err.strip().splitlines()) == 1
