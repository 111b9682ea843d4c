"""The step entrypoint's two repairs, checked against TFX's own parsing functions."""

import json

import pytest
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2
from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_entrypoint_utils as tfx_utils

from pipelines.runners import entrypoint
from tests.pipelines.runners import compiled

EXAMPLES_SCHEMA = "title: tfx.Examples\ntype: object\n"


def kfp_input(name="7"):
    """An upstream Examples artifact as the KFP 2.5.0 driver hands it (empty schema)."""
    artifact = {"name": name, "type": {"instanceSchema": ""}, "uri": "gs://b/root/x/examples"}
    return {
        "inputs": {"artifacts": {"examples": {"artifacts": [artifact]}}},
        "outputs": {"outputFile": "/tmp/kfp_outputs/output_metadata.json"},
    }


INPUTS_SPEC = {"artifacts": {"examples": {"artifactType": {"instanceSchema": EXAMPLES_SCHEMA}}}}


def parse_with_tfx(executor_input):
    parsed = json_format.ParseDict(executor_input, pipeline_spec_pb2.ExecutorInput())
    return tfx_utils.parse_raw_artifact_dict(parsed.inputs.artifacts, {})


def test_tfx_parsing_fails_on_the_artifact_types_kfp_hands_a_step():
    with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'get'"):
        parse_with_tfx(kfp_input())


def test_restore_input_types_gives_tfx_the_declared_type_when_kfp_sends_an_empty_schema():
    executor_input = kfp_input()
    assert entrypoint.restore_input_types(executor_input, INPUTS_SPEC) == ["examples"]
    (examples,) = parse_with_tfx(executor_input)["examples"]
    assert type(examples).__name__ == "Examples"
    assert examples.uri == "gs://b/root/x/examples"
    assert examples.id == entrypoint.hashed_id("7")


def test_restore_input_types_keeps_a_type_the_orchestrator_sent():
    executor_input = kfp_input()
    sent = {"schemaTitle": "tfx.Examples"}
    executor_input["inputs"]["artifacts"]["examples"]["artifacts"][0]["type"] = sent
    assert entrypoint.restore_input_types(executor_input, INPUTS_SPEC) == []
    assert executor_input["inputs"]["artifacts"]["examples"]["artifacts"][0]["type"] == sent


def test_name_blessing_ids_replaces_the_hashed_model_id_by_the_model_name():
    model_name = "projects/1/locations/r/metadataStores/default/artifacts/42"
    executor_input = {"inputs": {"artifacts": {"model": {"artifacts": [{"name": model_name}]}}}}
    # What TFX's entrypoint writes for an integer custom property: a JSON number.
    blessing = {"blessed": 1.0, "current_model_id": float(entrypoint.hashed_id(model_name))}
    output = {"artifacts": {"blessing": {"artifacts": [{"metadata": blessing}]}}}
    output = json.loads(json.dumps(output))
    names = entrypoint.input_names_by_id(executor_input)
    assert entrypoint.name_blessing_ids(output, names) == ["blessing"]
    metadata = output["artifacts"]["blessing"]["artifacts"][0]["metadata"]
    assert metadata == {"blessed": 1.0, "current_model_id": model_name}


def test_name_blessing_ids_leaves_an_unknown_number_alone():
    output = {"artifacts": {"blessing": {"artifacts": [{"metadata": {"current_model_id": 5.0}}]}}}
    assert entrypoint.name_blessing_ids(output, {}) == []
    assert output["artifacts"]["blessing"]["artifacts"][0]["metadata"]["current_model_id"] == 5.0


@pytest.mark.parametrize("target", ["kubeflow", "vertex"])
def test_compiled_steps_start_the_bertpipe_entrypoint_for_each_target(tmp_path, target):
    example = compiled.KUBEFLOW_CONFIG if target == "kubeflow" else compiled.VERTEX_CONFIG
    output = str(tmp_path / ("p.yaml" if target == "kubeflow" else "p.json"))
    compiled.compile_config(target, compiled.write_tiny_config(example, tmp_path), output)
    document = compiled.documents(output)[0]
    spec = document if target == "kubeflow" else document["pipelineSpec"]
    commands = {
        label: executor["container"]["command"]
        for label, executor in spec["deploymentSpec"]["executors"].items()
        if "container" in executor
    }
    assert set(commands) >= {"VocabGen_executor", "Trainer_executor", "Pusher_executor"}
    assert all(c == ["python", "-m", entrypoint.ENTRYPOINT_MODULE] for c in commands.values())
