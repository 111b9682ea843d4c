"""Tests for `bertpipe examples`: same layout and records as the component, clear errors."""

import json
import os
import pathlib

import pytest
import tensorflow as tf
from tfx.types import standard_artifacts

from components import configs
from components.corpus import Corpus
from components.example_gen import ExampleGenConfig, layout
from components.example_gen.executor import Executor
from components.example_gen.spec import CONFIG_KEY, CORPUS_KEY, EXAMPLES_KEY, VOCAB_KEY
from pipelines import cli

WHALES = str(pathlib.Path(__file__).parents[1] / "components/example_gen/data/whales.txt")
FLAGS = ["--seq-length", "32", "--max-predictions", "5", "--dupe-factor", "2", "--seed", "3"]
CONFIG = ExampleGenConfig(seq_length=32, max_predictions_per_seq=5, dupe_factor=2, seed=3)


def _records(uri):
    out = {}
    for split in layout.SPLIT_NAMES:
        files = layout.data_files(uri, split)
        out[split] = sorted(
            r.numpy() for r in tf.data.TFRecordDataset(files, compression_type="GZIP")
        )
    return out


def test_examples_command_writes_what_the_component_writes(tmp_path, capsys):
    out = tmp_path / "cli"
    argv = ["examples", "--corpus", WHALES, "--vocab", "bert-base-uncased", "--output", str(out)]
    assert cli.main([*argv, *FLAGS, "--direct_num_workers=1"]) == 0
    printed = capsys.readouterr().out
    assert "-> 1 bucket(s)" in printed and "examples/s" in printed
    stats = json.loads((out / "stats.json").read_text())
    assert f"train       {stats['train']['instances']} examples" in printed

    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "component")
    Executor().Do(
        {},
        {EXAMPLES_KEY: [examples]},
        {
            CORPUS_KEY: configs.to_json(Corpus((WHALES,))),
            VOCAB_KEY: "bert-base-uncased",
            CONFIG_KEY: configs.to_json(CONFIG),
        },
    )
    assert sorted(os.listdir(out)) == sorted(os.listdir(examples.uri))
    assert _records(str(out)) == _records(examples.uri)
    assert layout.read_config(str(out)) == CONFIG


def test_examples_command_reports_a_missing_glob_in_one_line(tmp_path, capsys):
    missing = str(tmp_path / "nope" / "*.txt")
    argv = ["examples", "--corpus", missing, "--vocab", "bert-base-uncased", "--output", "o"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"bertpipe: error: corpus glob '{missing}' matches no file; check the path "
                   "(a glob or a directory, local or gs://)."]  # fmt: skip


def test_examples_command_reports_a_bad_flag_value(capsys):
    argv = ["examples", "--corpus", WHALES, "--vocab", "v", "--output", "o", "--dupe-factor", "0"]
    assert cli.main(argv) == 2
    assert "dupe_factor must be an integer in [1, 1000]; got 0" in capsys.readouterr().err


def test_other_commands_still_reject_unknown_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["corpus", "list", "--runner=DirectRunner"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --runner=DirectRunner" in capsys.readouterr().err


def test_examples_command_reads_jsonl_with_a_text_field_and_reports_bad_records(tmp_path, capsys):
    docs = pathlib.Path(WHALES).read_text(encoding="utf-8").strip().split("\n\n")
    lines = [json.dumps({"body": d}) for d in docs] + ["{broken", json.dumps({"body": 7})]
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    argv = ["examples", "--corpus", str(corpus), "--text-field", "body", *FLAGS]
    out = tmp_path / "out"
    assert cli.main([*argv, "--vocab", "bert-base-uncased", "--output", str(out)]) == 0
    assert "  bad records invalid_json 1, non_string_text 1" in capsys.readouterr().out
    stats = json.loads((out / "stats.json").read_text())
    assert stats["reading"]["records"] == len(docs) + 2
    assert stats["total"]["documents"] == len(docs)
    assert cli.main([*argv[:-2], "--vocab", "v", "--output", "o", "--input-format", "csv"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["bertpipe: error: input_format must be one of auto, bert, paragraphs, jsonl, "
                   "parquet; got 'csv'."]  # fmt: skip
