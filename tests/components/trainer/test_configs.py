"""Tests for the trainer configs."""

import pytest

from components import configs
from components.errors import BertpipeError
from components.trainer.configs import BertConfig, DataConfig, MaskedLMConfig


def test_masked_lm_config_loads_from_yaml_and_round_trips_json(tmp_path):
    path = tmp_path / "task.yaml"
    path.write_text(
        "train_data:\n"
        "  input_path: ex/Split-train/*\n"
        "  global_batch_size: 32\n"
        "validation_data:\n"
        "  input_path: [a/*.gz, b/*.gz]\n"
        "  is_training: false\n"
        "model:\n"
        "  num_layers: 2\n"
        "  hidden_size: 128\n"
        "  num_attention_heads: 2\n"
    )
    config = configs.from_dict(MaskedLMConfig, configs.load_file(str(path)), source=str(path))
    assert config.train_data.input_path == ("ex/Split-train/*",)
    assert config.validation_data.input_path == ("a/*.gz", "b/*.gz")
    assert config.train_data.global_batch_size == 32
    assert config.model.num_layers == 2
    assert configs.from_json(MaskedLMConfig, configs.to_json(config)) == config


@pytest.mark.parametrize(
    "size,layers,hidden,heads,intermediate",
    [("tiny", 2, 128, 2, 512), ("mini", 4, 256, 4, 1024), ("base", 12, 768, 12, 3072)]
    + [("large", 24, 1024, 16, 4096)],
)
def test_named_sizes_follow_standard_bert_shapes(size, layers, hidden, heads, intermediate):
    config = BertConfig.sized(size, vocab_size=1000)
    assert (config.num_layers, config.hidden_size) == (layers, hidden)
    assert (config.num_attention_heads, config.intermediate_size) == (heads, intermediate)
    assert config.vocab_size == 1000


def test_unknown_size_names_the_valid_sizes():
    with pytest.raises(BertpipeError, match=r"unknown BERT size 'huge'.*'tiny', 'mini'"):
        BertConfig.sized("huge")


@pytest.mark.parametrize(
    "cls,kwargs,message",
    [
        (DataConfig, {"global_batch_size": 0}, r"global_batch_size must be an integer >= 1"),
        (DataConfig, {"compression": "zip"}, r"compression must be one of.*got 'zip'"),
        (DataConfig, {"input_path": ["a", ""]}, r"input_path must be"),
        (DataConfig, {"examples_consume": 0}, r"examples_consume must be an integer >= 1"),
        (DataConfig, {"max_predictions_per_seq": 126}, r"max_predictions_per_seq must be"),
        (BertConfig, {"num_attention_heads": 5}, r"hidden_size \(768\) must be a multiple"),
        (BertConfig, {"dropout_rate": 1.0}, r"dropout_rate must be a number in \[0, 1\)"),
        (BertConfig, {"hidden_activation": "swish"}, r"hidden_activation must be one of"),
    ],
)
def test_invalid_values_are_rejected_with_the_value(cls, kwargs, message):
    with pytest.raises(BertpipeError, match=message):
        cls(**kwargs)


def test_seq_length_beyond_max_positions_is_rejected():
    with pytest.raises(BertpipeError, match=r"train_data.seq_length \(256\) exceeds"):
        MaskedLMConfig(
            train_data=DataConfig(seq_length=256),
            model=BertConfig(max_position_embeddings=128),
        )


def test_next_sentence_setting_must_agree_between_splits():
    with pytest.raises(BertpipeError, match=r"use_next_sentence_label must agree"):
        MaskedLMConfig(validation_data=DataConfig(use_next_sentence_label=False))
