"""Tests for compiling a TFX pipeline into the two-document Kubeflow Pipelines YAML."""

import json

import pytest
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from components.errors import BertpipeError
from pipelines.deployment import DeploymentConfig, ImageConfig, ResourcesConfig
from pipelines.runners import kubeflow
from pipelines.tpu import TPU_RESOURCE, TpuConfig
from tests.kubernetes.manifests import OVERLAYS, build, needs_kubectl, one
from tests.kubernetes.test_tpu_parity import overlay_tpu, placement_problems
from tests.pipelines.runners import kfp_protos, stand_in
from tests.test_no_secrets import scan

IMAGE = "us-docker.pkg.dev/p/bertpipe/bertpipe:0.1.0"
TPU_IMAGE = IMAGE + "-tpu"
TPU = TpuConfig("tpu-v5-lite-podslice", "2x4", spot=True)


def deployment(**kwargs):
    kwargs.setdefault("images", ImageConfig(default=IMAGE, tpu=TPU_IMAGE))
    return DeploymentConfig(**kwargs)


def pipeline(config=None, **kwargs):
    config = config or deployment()
    return stand_in.create_pipeline(
        root="gs://b/root",
        examples_dir="gs://b/examples",
        push_dir="gs://b/serving",
        beam_pipeline_args=config.beam_pipeline_args(),
        **kwargs,
    )


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    config = deployment(tpu=TPU, resources=ResourcesConfig(cpu_request=2, memory_request_gb=6))
    path = str(tmp_path_factory.mktemp("kfp") / "pipeline.yaml")
    return path, kubeflow.compile_kubeflow(pipeline(config), config, path, evaluator_id=None)


def containers(spec):
    executors = spec["deploymentSpec"]["executors"]
    return {k: v["container"] for k, v in executors.items() if "container" in v}


def test_both_documents_parse_into_kfp_protos_with_no_unknown_field(compiled):
    path, _ = compiled
    with open(path) as f:
        spec_doc, platform_doc = yaml.safe_load_all(f)
    spec = json_format.ParseDict(spec_doc, pipeline_spec_pb2.PipelineSpec())  # Strict.
    platform = json_format.ParseDict(platform_doc, pipeline_spec_pb2.PlatformSpec())
    assert spec.schema_version == "2.1.0"
    executors = platform.platforms["kubernetes"].deployment_spec.executors
    assert list(executors) == ["Trainer_executor"]
    config_class = kfp_protos.kubernetes_executor_config()
    trainer = json_format.ParseDict(
        json_format.MessageToDict(executors["Trainer_executor"]), config_class()
    )
    assert dict(trainer.node_selector.labels) == TPU.node_selector()
    assert [(t.key, t.operator, t.value, t.effect) for t in trainer.tolerations] == [
        (t["key"], t["operator"], t.get("value", ""), t["effect"]) for t in TPU.tolerations()
    ]


def test_kfp_loader_and_client_accept_the_file(compiled):
    import kfp.components
    from kfp.client import client

    path, package = compiled
    component = kfp.components.load_component_from_file(path)
    assert component.name == "stand-in"
    document = client._extract_pipeline_yaml(path)  # What create_run_from_pipeline_package sends.
    assert document.to_dict()["platform_spec"] == package.platform_spec
    assert "Trainer" in document.to_dict()["pipeline_spec"]["root"]["dag"]["tasks"]


def test_only_the_trainer_gets_tpu_placement_and_image(compiled):
    _, package = compiled
    found = containers(package.pipeline_spec)
    assert set(found) == {"StatisticsGen_executor", "Trainer_executor", "Pusher_executor"}
    assert found.pop("Trainer_executor")["resources"] == {
        "accelerator": {"type": TPU_RESOURCE, "count": str(TPU.chips_per_host)}
    }
    assert (
        package.pipeline_spec["deploymentSpec"]["executors"]["Trainer_executor"]["container"][
            "image"
        ]
        == TPU_IMAGE
    )
    for container in found.values():
        assert container["resources"] == {"cpuRequest": 2.0, "memoryRequest": 6.0}
        assert container["image"] == IMAGE
    assert list(
        package.platform_spec["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    ) == ["Trainer_executor"]


def test_beam_args_reach_the_beam_steps(compiled):
    _, package = compiled
    args = containers(package.pipeline_spec)["StatisticsGen_executor"]["args"]
    assert args[-3:] == deployment(resources=ResourcesConfig(cpu_request=2)).beam_pipeline_args()


def test_evaluator_on_tpu_gets_the_same_placement():
    config = deployment(tpu=TPU, tpu_evaluator=True)
    # The stand-in has no evaluator; any step id shows the placement follows the id.
    package = kubeflow.compile_kubeflow(pipeline(config), config, evaluator_id="StatisticsGen")
    executors = package.platform_spec["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert executors["StatisticsGen_executor"] == executors["Trainer_executor"]
    assert containers(package.pipeline_spec)["StatisticsGen_executor"]["image"] == TPU_IMAGE


def test_without_tpu_there_is_one_document_and_no_accelerator(tmp_path):
    config = deployment()
    package = kubeflow.compile_kubeflow(pipeline(config), config, str(tmp_path / "p.yml"))
    assert package.platform_spec == {}
    assert len(list(yaml.safe_load_all(package.text))) == 1
    assert all(
        "accelerator" not in c["resources"] for c in containers(package.pipeline_spec).values()
    )


def test_compile_leaves_the_pipeline_as_it_was():
    config = deployment(tpu=TPU)
    built = pipeline(config)
    kubeflow.compile_kubeflow(built, config, evaluator_id=None)
    assert all(getattr(c, "platform_config", None) is None for c in built.components)


@pytest.mark.parametrize(
    "kwargs,compile_kwargs,message",
    [
        ({"resolver": True}, {}, r"Resolver node\(s\) \['LatestModel'\].*resolver executors"),
        ({}, {"trainer_id": "Train"}, r"TPU step\(s\) \['Train'\] not found .* 'Trainer'"),
        ({}, {"output_path": "p.json"}, "must end in .yaml or .yml"),
    ],
)
def test_compile_refuses_what_open_source_kfp_cannot_run(kwargs, compile_kwargs, message):
    config = deployment(tpu=TPU)
    with pytest.raises(BertpipeError, match=message):
        kubeflow.compile_kubeflow(pipeline(config, **kwargs), config, **compile_kwargs)


def test_file_based_example_gen_is_refused():
    from tfx import v1 as tfx

    gen = tfx.components.ImportExampleGen(input_base="gs://b/in")
    built = tfx.dsl.Pipeline(pipeline_name="p", pipeline_root="gs://b/r", components=[gen])
    with pytest.raises(BertpipeError, match=r"\['ImportExampleGen'\] are FileBasedExampleGen"):
        kubeflow.compile_kubeflow(built, deployment())


def test_cloud_checks_run_before_compiling():
    config = DeploymentConfig(images=ImageConfig(default="bertpipe:0.1.0"))
    with pytest.raises(BertpipeError, match="names no registry"):
        kubeflow.compile_kubeflow(pipeline(config), config)


@needs_kubectl
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_compiled_trainer_fits_the_overlay_node_pool(overlay):
    config = deployment(tpu=overlay_tpu(overlay))
    package = kubeflow.compile_kubeflow(pipeline(config), config, evaluator_id=None)
    platform = package.platform_spec["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    trainer = platform["Trainer_executor"]
    limit = containers(package.pipeline_spec)["Trainer_executor"]["resources"]["accelerator"][
        "count"
    ]
    pool = one(build(f"overlays/{overlay}"), "ContainerNodePool")
    assert (
        placement_problems(trainer["nodeSelector"]["labels"], trainer["tolerations"], limit, pool)
        == []
    )


def test_compiled_file_holds_no_credentials(compiled):
    path, package = compiled
    with open(path) as f:
        text = f.read()
    assert scan(text) == []
    assert scan(json.dumps(package.pipeline_spec)) == []
