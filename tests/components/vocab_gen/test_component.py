"""Tests for the VocabGen component: construction, executor, Kubeflow V2, TFX runners."""

import json
import os
import subprocess
import sys

import pytest
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2
from ml_metadata.proto import metadata_store_pb2
from tfx.dsl.components.base import base_beam_executor
from tfx.orchestration import metadata
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.orchestration.beam.beam_dag_runner import BeamDagRunner
from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner
from tfx.v1.orchestration import LocalDagRunner

from components import artifacts, configs, vocabulary
from components.corpus import Corpus
from components.errors import BertpipeError
from components.vocab_gen import VocabConfig
from components.vocab_gen.component import VocabGen
from components.vocab_gen.executor import Executor
from components.vocab_gen.spec import CONFIG_KEY, CORPUS_KEY, VOCAB_URI_KEY, VOCABULARY_KEY
from tests.conftest import REPO_ROOT

SMALL = VocabConfig(vocab_size=500)


def test_component_records_corpus_and_config_as_exec_properties():
    gen = VocabGen(corpus=["a/*.txt", "b.txt"], config=SMALL)
    props = gen.exec_properties
    assert configs.from_json(Corpus, props[CORPUS_KEY]) == Corpus(("a/*.txt", "b.txt"))
    assert configs.from_json(VocabConfig, props[CONFIG_KEY]) == SMALL
    assert props[VOCAB_URI_KEY] is None
    assert gen.outputs[VOCABULARY_KEY].type is artifacts.Vocabulary


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "VocabGen needs corpus .* or vocab_uri"),
        ({"corpus": " , "}, "VocabGen needs corpus"),
        ({"vocab_uri": "bert-base-uncased", "config": SMALL}, r"\{'vocab_size': 500\} do not"),
        ({"vocab_uri": " "}, "VocabGen vocab_uri is empty"),
    ],
)
def test_component_checks_exactly_one_mode_at_construction(kwargs, message):
    with pytest.raises(BertpipeError, match=message):
        VocabGen(**kwargs)


def test_import_mode_accepts_normalisation_and_an_optional_corpus():
    gen = VocabGen(vocab_uri="bert-base-uncased", corpus="c.txt", config=VocabConfig())
    assert gen.exec_properties[VOCAB_URI_KEY] == "bert-base-uncased"


def _do(tmp_path, exec_properties):
    output = artifacts.Vocabulary()
    output.uri = str(tmp_path / "vocabulary")
    context = base_beam_executor.BaseBeamExecutor.Context(
        tmp_dir=str(tmp_path / "tmp"), unique_id="test"
    )
    Executor(context).Do({}, {VOCABULARY_KEY: [output]}, exec_properties)
    return output


def test_executor_learns_a_vocabulary_into_the_artifact(tmp_path, small_corpus):
    props = {
        CORPUS_KEY: configs.to_json(Corpus((small_corpus,))),
        CONFIG_KEY: configs.to_json(SMALL),
    }
    output = _do(tmp_path, props)
    tokens = vocabulary.load_vocab(output.uri)
    with open(os.path.join(output.uri, artifacts.VOCABULARY_STATS_FILENAME)) as f:
        stats = json.load(f)
    assert tokens[:5] == list(vocabulary.RESERVED_TOKENS)
    assert stats["vocab_size"] == len(tokens) <= 500 and stats["mode"] == "learned"
    assert output.get_string_custom_property("mode") == "learned"
    assert output.get_int_custom_property("vocab_size") == len(tokens)
    assert output.get_float_custom_property("coverage") == stats["coverage"]
    assert sorted(os.listdir(output.uri)) == ["vocab.txt", "vocab_stats.json"]


def test_executor_imports_bert_base_uncased(tmp_path):
    props = {VOCAB_URI_KEY: "bert-base-uncased", CONFIG_KEY: configs.to_json(VocabConfig())}
    output = _do(tmp_path, props)
    assert len(vocabulary.load_vocab(output.uri)) == 30522
    assert output.get_string_custom_property("mode") == "imported"


def test_executor_rejects_a_bad_vocabulary_naming_the_line(tmp_path):
    bad = tmp_path / "vocab.txt"
    bad.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nsea\nsea\n")
    props = {VOCAB_URI_KEY: str(bad), CONFIG_KEY: configs.to_json(VocabConfig())}
    with pytest.raises(BertpipeError, match=r"line 7 repeats token 'sea' \(first on line 6\)"):
        _do(tmp_path, props)


def _pipeline(root, corpus, components=None):
    components = components or [
        VocabGen(corpus=corpus, config=SMALL),
        VocabGen(vocab_uri="bert-base-uncased").with_id("ImportVocab"),
    ]
    return tfx_pipeline.Pipeline(
        pipeline_name="vocab-test",
        pipeline_root=str(root / "root"),
        components=components,
        metadata_connection_config=metadata.sqlite_metadata_connection_config(
            str(root / "mlmd.sqlite")
        ),
    )


def _compile_v2(pipeline):
    runner = kubeflow_v2_dag_runner.KubeflowV2DagRunner(
        config=kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(default_image="bertpipe:test"),
        output_filename="pipeline.json",
    )
    job = pipeline_spec_pb2.PipelineJob()
    json_format.ParseDict(runner.run(pipeline, write_out=False), job)  # Rejects unknown fields.
    return job


def test_component_compiles_for_kubeflow_v2(tmp_path):
    job = _compile_v2(_pipeline(tmp_path, "gs://bucket/corpus/*.txt"))
    spec = job.pipeline_spec
    container = spec["deploymentSpec"]["executors"]["VocabGen_executor"]["container"]
    assert list(container["args"])[:2] == [
        "--executor_class_path",
        "components.vocab_gen.executor.Executor",
    ]
    output = spec["components"]["VocabGen"]["outputDefinitions"]["artifacts"]["vocabulary"]
    assert output["artifactType"]["instanceSchema"].startswith("title: components.Vocabulary\n")
    params = spec["root"]["dag"]["tasks"]["ImportVocab"]["inputs"]["parameters"]
    assert params["vocab_uri"]["runtimeValue"]["constantValue"]["stringValue"] == (
        "bert-base-uncased"
    )


@pytest.mark.slow
def test_kubeflow_v2_container_command_runs_the_executor(tmp_path, small_corpus):
    """Runs the compiled step's container command here, as the KFP launcher would."""
    job = _compile_v2(_pipeline(tmp_path, small_corpus))
    spec = json_format.MessageToDict(job.pipeline_spec)
    container = spec["deploymentSpec"]["executors"]["VocabGen_executor"]["container"]
    task_params = spec["root"]["dag"]["tasks"]["VocabGen"]["inputs"]["parameters"]
    schema = spec["components"]["VocabGen"]["outputDefinitions"]["artifacts"]["vocabulary"]
    uri = str(tmp_path / "step" / "vocabulary")
    values = {k: v["runtimeValue"]["constantValue"]["stringValue"] for k, v in task_params.items()}
    executor_input = {
        # Both spellings, as KFP sends them: schema 2.0 steps read `parameters`.
        "inputs": {
            "parameterValues": values,
            "parameters": {k: {"stringValue": v} for k, v in values.items()},
        },
        "outputs": {
            "artifacts": {
                "vocabulary": {
                    "artifacts": [
                        {
                            "name": "projects/p/locations/l/metadataStores/default/artifacts/1",
                            "type": {"instanceSchema": schema["artifactType"]["instanceSchema"]},
                            "uri": uri,
                        }
                    ]
                }
            },
            "outputFile": str(tmp_path / "step" / "executor_output.json"),
        },
    }
    args = [json.dumps(executor_input) if a == "{{$}}" else a for a in container["args"]]
    command = [sys.executable, *container["command"][1:], *args]
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(vocabulary.load_vocab(uri)) <= 500
    with open(tmp_path / "step" / "executor_output.json") as f:
        produced = json.load(f)["artifacts"]["vocabulary"]["artifacts"][0]
    assert produced["metadata"]["mode"] == "learned"


def _vocabulary_artifacts(root):
    config = metadata.sqlite_metadata_connection_config(str(root / "mlmd.sqlite"))
    with metadata.Metadata(config) as m:
        found = m.store.get_artifacts_by_type(artifacts.Vocabulary.TYPE_NAME)
    return [a for a in found if a.state == metadata_store_pb2.Artifact.LIVE]


@pytest.mark.slow
@pytest.mark.parametrize("runner", [LocalDagRunner, BeamDagRunner])
def test_pipeline_runs_vocab_gen_under_tfx_runner(tmp_path, small_corpus, runner):
    runner().run(_pipeline(tmp_path, small_corpus))
    found = _vocabulary_artifacts(tmp_path)
    modes = sorted(a.custom_properties["mode"].string_value for a in found)
    assert modes == ["imported", "learned"]
    sizes = {
        a.custom_properties["mode"].string_value: len(vocabulary.load_vocab(a.uri)) for a in found
    }
    assert sizes["imported"] == 30522 and sizes["learned"] <= 500
