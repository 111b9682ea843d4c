"""Tests for the MaskedLMExampleGen component and executor, and runs inside TFX pipelines."""

import json
import os
import pathlib

import pytest
import tensorflow as tf
from tfx import v1 as tfx
from tfx.orchestration.beam.beam_dag_runner import BeamDagRunner
from tfx.types import artifact_utils, channel, standard_artifacts

from components import configs
from components.artifacts import Vocabulary
from components.corpus import Corpus, CorpusFormat
from components.errors import BertpipeError
from components.example_gen import ExampleGenConfig, MaskedLMExampleGen, layout
from components.example_gen.executor import Executor
from components.example_gen.spec import CONFIG_KEY, CORPUS_KEY, EXAMPLES_KEY, VOCABULARY_KEY
from tests.components.example_gen.helpers import parse, write_vocab

WHALES = str(pathlib.Path(__file__).parent / "data" / "whales.txt")
TINY = ExampleGenConfig(seq_length=32, max_predictions_per_seq=5, dupe_factor=1, eval_fraction=0.2)


def test_component_declares_its_keys_and_serialises_the_config():
    gen = MaskedLMExampleGen(corpus=WHALES, vocab="bert-base-uncased", config=TINY)
    assert configs.from_json(Corpus, gen.exec_properties[CORPUS_KEY]) == Corpus((WHALES,))
    assert configs.from_json(ExampleGenConfig, gen.exec_properties[CONFIG_KEY]) == TINY
    assert list(gen.outputs) == [EXAMPLES_KEY]
    assert gen.outputs[EXAMPLES_KEY].type is standard_artifacts.Examples


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"corpus": WHALES}, "exactly one vocabulary"),
        (
            {
                "corpus": WHALES,
                "vocab": "bert-base-uncased",
                "vocabulary": channel.Channel(type=Vocabulary),
            },
            "exactly one vocabulary",
        ),
        ({"corpus": [], "vocab": "bert-base-uncased"}, "non-empty list of file globs"),
        (
            {
                "corpus": Corpus((WHALES,)),
                "vocab": "x",
                "corpus_format": CorpusFormat(input_format="jsonl"),
            },
            "give the corpus format once",
        ),
        ({"corpus": WHALES, "vocab": "x", "config": {"seed": 1}}, "must be an ExampleGenConfig"),
    ],
)
def test_component_rejects_bad_arguments_at_construction(kwargs, message):
    with pytest.raises(BertpipeError, match=message):
        MaskedLMExampleGen(**kwargs)


def _check_examples(uri: str, config=TINY):
    assert sorted(os.listdir(uri)) == [
        "Split-eval",
        "Split-train",
        "example_gen_config.json",
        "stats.json",
        "vocab.txt",
    ]
    stats = json.loads(pathlib.Path(uri, "stats.json").read_text())
    for split in layout.SPLIT_NAMES:
        files = layout.data_files(uri, split)
        assert [os.path.basename(f) for f in files] == ["data_tfrecord-00000-of-00001.gz"]
        records = [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]
        assert len(records) == stats[split]["instances"]
        parse(records, config.seq_length, config.max_predictions_per_seq)
    assert layout.read_config(uri) == config


def test_executor_reads_a_vocabulary_artifact_and_writes_the_examples(tmp_path):
    vocab_dir = tmp_path / "vocab"
    vocab_dir.mkdir()
    (vocab_dir / "vocab.txt").write_bytes(pathlib.Path(write_vocab(tmp_path)).read_bytes())
    vocab = Vocabulary()
    vocab.uri = str(vocab_dir)
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    Executor().Do(
        {VOCABULARY_KEY: [vocab]},
        {EXAMPLES_KEY: [examples]},
        {
            CORPUS_KEY: configs.to_json(Corpus((WHALES,))),
            CONFIG_KEY: configs.to_json(TINY),
        },
    )
    _check_examples(examples.uri)
    assert artifact_utils.decode_split_names(examples.split_names) == ["train", "eval"]
    assert examples.get_string_custom_property("file_format") == "tfrecords_gzip"
    stats = json.loads((tmp_path / "examples" / "stats.json").read_text())
    assert examples.get_int_custom_property("train_instances") == stats["train"]["instances"]
    assert (tmp_path / "examples" / "vocab.txt").read_bytes() == (
        vocab_dir / "vocab.txt"
    ).read_bytes()


def _pipeline(root: pathlib.Path) -> tfx.dsl.Pipeline:
    gen = MaskedLMExampleGen(corpus=[WHALES], vocab="bert-base-uncased", config=TINY)
    return tfx.dsl.Pipeline(
        pipeline_name="example-gen-test",
        pipeline_root=str(root / "root"),
        components=[gen],
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            str(root / "metadata.sqlite")
        ),
    )


def _only_examples_uri(root: pathlib.Path) -> str:
    (uri,) = tf.io.gfile.glob(str(root / "root" / "MaskedLMExampleGen" / "examples" / "*"))
    return uri


@pytest.mark.slow
@pytest.mark.parametrize("runner", ["local", "beam"])
def test_component_runs_in_a_tfx_pipeline(tmp_path, runner):
    dag_runner = tfx.orchestration.LocalDagRunner() if runner == "local" else BeamDagRunner()
    dag_runner.run(_pipeline(tmp_path))
    _check_examples(_only_examples_uri(tmp_path))
