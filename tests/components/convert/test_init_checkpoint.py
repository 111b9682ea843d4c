"""task.init_checkpoint from a published BERT: the model starts from its weights, or the
run fails before training naming every architecture field that differs."""

from __future__ import annotations

import numpy as np
import pytest

from components.convert import layout, sources
from components.errors import BertpipeError
from components.trainer import registry
from components.trainer.configs import BertConfig, DataConfig, MaskedLMConfig
from tests.components.convert import hf_models

pytest.importorskip("transformers")


def _task(init_checkpoint: str, **model):
    fields = {
        "vocab_size": len(hf_models.VOCAB),
        "hidden_size": 32,
        "num_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 48,
        "max_position_embeddings": 64,
        "hidden_activation": "gelu_exact",
    }
    fields.update(model)
    data = DataConfig(seq_length=16, max_predictions_per_seq=3)
    config = MaskedLMConfig(
        init_checkpoint=init_checkpoint,
        model=BertConfig(**fields),
        train_data=data,
        validation_data=DataConfig(seq_length=16, max_predictions_per_seq=3, is_training=False),
    )
    return registry.get_task(config)


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
    model = hf_models.build("BertForPreTraining", seed=4)
    return hf_models.save(model, str(tmp_path_factory.mktemp("init") / "hf"))


def test_initialize_loads_every_weight_of_a_huggingface_directory(hf_dir):
    task = _task(hf_dir)
    model = task.build_model()
    task.initialize(model)
    expected = sources.load(hf_dir).weights
    got = layout.read(model)
    assert sorted(got) == sorted(expected)
    for name, value in expected.items():
        np.testing.assert_array_equal(got[name], value, err_msg=name)


def test_initialize_fails_naming_differences_when_sizes_differ(hf_dir):
    task = _task(hf_dir, num_layers=3, hidden_activation="gelu")
    model = task.build_model()
    with pytest.raises(BertpipeError) as error:
        task.initialize(model)
    message = str(error.value)
    assert "num_layers 2 (config: 3)" in message
    assert "hidden_activation 'gelu_exact' (config: 'gelu')" in message


def test_convert_command_reports_one_line_when_source_is_not_that_layout(tmp_path, capsys):
    from pipelines import cli

    args = ["convert", "--from", "huggingface", str(tmp_path), "--output", str(tmp_path / "o")]
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err == (
        f"bertpipe: error: {tmp_path} is not a huggingface checkpoint: expected a directory "
        f"with config.json and model.safetensors; it looks like none of the known layouts. "
        f"Check the path and --from."
    )
