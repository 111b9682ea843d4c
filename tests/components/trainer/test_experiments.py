"""Tests for experiment configs, named experiments and following the examples' metadata."""

import json

import pytest

from components import configs
from components.errors import BertpipeError
from components.trainer import examples_metadata, experiments
from components.trainer.experiment import ExperimentConfig, OptimizerConfig, TrainerConfig
from tests.components.trainer.examples_dir import SCHEMA, VOCAB_SIZE, write_examples_dir


@pytest.mark.parametrize("name", experiments.experiment_names())
def test_every_named_experiment_builds_and_round_trips_json(name):
    config = experiments.get_experiment(name)
    assert isinstance(config, ExperimentConfig)
    assert configs.from_json(ExperimentConfig, configs.to_json(config)) == config


def test_named_experiments_follow_the_published_bert_recipes():
    base = experiments.get_experiment("bert/base_seq128")
    assert (base.task.model.num_layers, base.task.model.hidden_size) == (12, 768)
    assert (base.task.train_data.seq_length, base.task.train_data.max_predictions_per_seq) == (
        128,
        20,
    )
    assert base.task.train_data.global_batch_size == 256
    assert base.trainer.optimizer.learning_rate == 1e-4
    large = experiments.get_experiment("bert/large_seq512")
    assert (large.task.model.num_layers, large.task.train_data.seq_length) == (24, 512)
    # TPU-ready: validation batches have one static shape.
    assert large.task.validation_data.drop_remainder
    assert experiments.get_experiment("bert/mini").task.model.hidden_size == 256


def test_unknown_experiment_names_the_registered_ones_and_the_closest():
    with pytest.raises(BertpipeError, match=r"unknown experiment 'bert/tinny'.*'bert/tiny'") as e:
        experiments.get_experiment("bert/tinny")
    assert "bert/base_seq128" in str(e.value)


def test_load_experiment_applies_file_then_params_and_records_user_keys(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("trainer:\n  train_steps: 50\n  optimizer:\n    learning_rate: 0.01\n")
    loaded = experiments.load_experiment(
        "bert/tiny",
        config_file=str(path),
        params=["trainer.train_steps=70", "task.model.dropout_rate=0.0"],
    )
    assert loaded.config.trainer.train_steps == 70
    assert loaded.config.trainer.optimizer.learning_rate == 0.01
    assert loaded.config.task.model.dropout_rate == 0.0
    assert loaded.config.task.model.hidden_size == 128  # The rest is bert/tiny's.
    assert experiments.user_value(loaded.user_keys, "trainer.train_steps") == 70
    assert experiments.user_value(loaded.user_keys, "task.model.vocab_size") is None


def test_override_errors_name_the_key_and_its_source(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("trainer:\n  train_step: 5\n")
    with pytest.raises(
        BertpipeError, match=r"'trainer.train_step' in .*exp.yaml.*'trainer.train_steps'"
    ):
        experiments.load_experiment("bert/tiny", config_file=str(path))
    with pytest.raises(
        BertpipeError, match=r"--param.*train_steps must be an integer >= 1; got -3"
    ):
        experiments.load_experiment("bert/tiny", params=["trainer.train_steps=-3"])


@pytest.mark.parametrize(
    "cls,kwargs,message",
    [
        (TrainerConfig, {"steps_per_loop": 0}, "steps_per_loop must be an integer >= 1"),
        (TrainerConfig, {"validation_steps": 0}, "validation_steps must be an integer >= 1"),
        (OptimizerConfig, {"beta_2": 1.0}, r"beta_2 must be a number in \[0.0, 1.0\)"),
        (OptimizerConfig, {"learning_rate": -1}, "learning_rate must be a number >= 0.0"),
    ],
)
def test_invalid_values_are_rejected_with_the_range(cls, kwargs, message):
    with pytest.raises(BertpipeError, match=message):
        cls(**kwargs)


def test_unknown_strategy_lists_the_choices():
    with pytest.raises(BertpipeError, match="distribution_strategy.*'auto', 'tpu'"):
        configs.from_dict(ExperimentConfig, {"runtime": {"distribution_strategy": "gpu"}})


def test_examples_root_is_found_from_split_patterns():
    assert examples_metadata.examples_root("/a/ex/Split-train/*") == "/a/ex"
    assert examples_metadata.examples_root("gs://b/ex/Split-eval") == "gs://b/ex"
    assert examples_metadata.examples_root("/a/data/*.tfrecord") is None


def test_experiment_follows_the_examples_lengths_and_vocabulary(tmp_path):
    root = write_examples_dir(str(tmp_path / "ex"))
    metadata = examples_metadata.metadata_for_patterns(
        [f"{root}/Split-train/*", f"{root}/Split-eval/*"]
    )
    assert (metadata.vocab_size, metadata.lower_case) == (VOCAB_SIZE, True)
    loaded = experiments.load_experiment("bert/tiny")
    experiment = examples_metadata.apply_examples_metadata(
        loaded.config, metadata, loaded.user_keys
    )
    for data in (experiment.task.train_data, experiment.task.validation_data):
        assert (data.seq_length, data.max_predictions_per_seq) == (
            SCHEMA.seq_length,
            SCHEMA.max_predictions_per_seq,
        )
    assert experiment.task.model.vocab_size == VOCAB_SIZE


def test_an_override_that_contradicts_the_examples_fails(tmp_path):
    root = write_examples_dir(str(tmp_path / "ex"))
    metadata = examples_metadata.read_examples_metadata(root)
    loaded = experiments.load_experiment("bert/tiny", params=["task.train_data.seq_length=64"])
    with pytest.raises(
        BertpipeError,
        match=r"task.train_data.seq_length=64 was set explicitly.*example_gen_config.json says 16",
    ):
        examples_metadata.apply_examples_metadata(loaded.config, metadata, loaded.user_keys)


def test_examples_without_metadata_are_reported(tmp_path):
    root = write_examples_dir(str(tmp_path / "ex"))
    (tmp_path / "ex" / "vocab.txt").unlink()
    assert json.loads((tmp_path / "ex" / "example_gen_config.json").read_text())
    with pytest.raises(BertpipeError, match=r"vocab.txt not found.*not written by bertpipe"):
        examples_metadata.read_examples_metadata(root)
