"""`bertpipe train` up to the point where training would start: resolving the experiment
from the flags and the examples, and the one-line errors for user mistakes."""

import json
import re

import pytest

from pipelines import cli
from tests.components.trainer.examples_dir import SCHEMA, VOCAB_SIZE, write_examples_dir


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    return write_examples_dir(str(tmp_path_factory.mktemp("ex") / "examples"))


def _train(*args):
    return cli.main(["train", *args])


def test_print_config_follows_the_examples_and_the_overrides(examples, tmp_path, capsys):
    code = _train(
        "--experiment", "bert/tiny", "--examples", examples, "--model-dir", str(tmp_path),
        "--param", "trainer.train_steps=12", "--print-config",
    )  # fmt: skip
    assert code == 0
    config = json.loads(capsys.readouterr().out)
    assert config["trainer"]["train_steps"] == 12
    assert config["task"]["model"]["vocab_size"] == VOCAB_SIZE
    assert config["task"]["train_data"]["seq_length"] == SCHEMA.seq_length
    assert config["task"]["train_data"]["input_path"] == [f"{examples}/Split-train/*"]
    assert config["task"]["validation_data"]["input_path"] == [f"{examples}/Split-eval/*"]
    assert not (tmp_path / "checkpoints").exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--experiment", "bert/tinny"], "unknown experiment 'bert/tinny'.*'bert/tiny'"),
        (
            ["--experiment", "bert/tiny", "--param", "task.model.vocab_size=99"],
            "task.model.vocab_size=99 was set explicitly, but the examples disagree",
        ),
        (["--experiment", "bert/tiny", "--param", "trainer.train_step=3"], "did you mean"),
    ],
)
def test_mistakes_are_one_line_errors(examples, tmp_path, capsys, args, message):
    code = _train(*args, "--examples", examples, "--model-dir", str(tmp_path), "--print-config")
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("bertpipe: error: ")
    assert len(err.strip().splitlines()) == 1
    assert re.search(message, err), err


def test_records_without_metadata_need_a_vocabulary(examples, tmp_path, capsys):
    pattern = str(tmp_path / "loose" / "*.gz")
    (tmp_path / "loose").mkdir()
    code = _train(
        "--experiment", "bert/tiny", "--train-examples", pattern, "--model-dir", str(tmp_path),
    )  # fmt: skip
    assert code == 2
    assert "pass --vocab FILE" in capsys.readouterr().err
