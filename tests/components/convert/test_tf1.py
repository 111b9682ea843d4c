"""google-research/bert (TF1) checkpoints: converted logits equal the source model's.

The checkpoint is written here with `tf.compat.v1` variables under google-research/bert's
names (modeling.py `BertModel`, run_pretraining.py `get_masked_lm_output` and
`get_next_sentence_output`), holding the weights of a random transformers BERT with
`hidden_act="gelu_new"` (the tanh-approximate GELU of modeling.py's `gelu`), so that
model's logits are the reference. Adam slots and `global_step` are saved too, as
run_pretraining.py's checkpoints hold them.
"""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
import tensorflow as tf

from components.convert import sources
from components.trainer import export
from pipelines import cli
from tests.components.convert import hf_models

pytest.importorskip("transformers")

IDS = np.array([[2, 5, 4, 7, 8, 9, 10, 3]])
POSITIONS = np.array([[1, 2, 5]])


def _tf1_name(tf2_name: str) -> tuple[str, bool]:
    """A transformers TF variable name -> google-research/bert's, and whether transposed."""
    name = re.sub(r"^[^/]+/", "", tf2_name.replace(":0", "")).replace("layer_._", "layer_")
    name = re.sub(r"(_embeddings)/(weight|embeddings)$", r"\1", name)
    name = name.replace("mlm___cls/predictions/bias", "cls/predictions/output_bias")
    name = name.replace("nsp___cls/seq_relationship/kernel", "cls/seq_relationship/output_weights")
    name = name.replace("nsp___cls/seq_relationship/bias", "cls/seq_relationship/output_bias")
    name = name.replace("mlm___cls/", "cls/")
    return name, name.endswith("output_weights")


def write_tf1_release(model, directory: str) -> str:
    """bert_model.ckpt, bert_config.json and vocab.txt as the google-research zips hold."""
    os.makedirs(directory)
    values = {}
    for variable in model.weights:
        name, transpose = _tf1_name(variable.name)
        values[name] = variable.numpy().T if transpose else variable.numpy()
    graph = tf.Graph()
    with graph.as_default():
        for name, value in values.items():
            tf.compat.v1.get_variable(name, initializer=value)
            tf.compat.v1.get_variable(f"{name}/adam_m", initializer=np.zeros_like(value))
            tf.compat.v1.get_variable(f"{name}/adam_v", initializer=np.zeros_like(value))
        tf.compat.v1.train.get_or_create_global_step()
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, os.path.join(directory, "bert_model.ckpt"), write_meta_graph=False)
    c = model.config
    config = {
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": c.hidden_size,
        "initializer_range": 0.02,
        "intermediate_size": c.intermediate_size,
        "max_position_embeddings": c.max_position_embeddings,
        "num_attention_heads": c.num_attention_heads,
        "num_hidden_layers": c.num_hidden_layers,
        "type_vocab_size": 2,
        "vocab_size": c.vocab_size,
    }
    with open(os.path.join(directory, "bert_config.json"), "w") as f:
        json.dump(config, f)
    with open(os.path.join(directory, "vocab.txt"), "w") as f:
        f.write("\n".join(hf_models.VOCAB) + "\n")
    return directory


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    model = hf_models.build("BertForPreTraining", seed=3, hidden_act="gelu_new")
    root = tmp_path_factory.mktemp("tf1")
    return model, write_tf1_release(model, str(root / "cased_L-2_H-32_A-4"))


def test_source_reads_config_and_case_from_release(release):
    _, directory = release
    source = sources.load(directory)
    assert source.kind == "tf1"
    assert source.config.hidden_activation == "gelu" and source.config.num_layers == 2
    assert source.normalization.lower_case is False  # "cased_..." in the release name.
    assert source.next_sentence
    assert not [n for n in source.weights if "adam" in n or "global_step" in n]


def test_converted_logits_equal_source_when_run_from_cli(release, tmp_path):
    model, directory = release
    out = str(tmp_path / "export")
    args = ["convert", "--from", "tf1", directory, "--output", out, "--seq-length", "16"]
    assert cli.main(args) == 0
    loaded = export.load_exported(out)
    outputs = loaded.model(
        {
            "input_word_ids": tf.constant(IDS, tf.int32),
            "input_mask": tf.ones([1, 8], tf.int32),
            "input_type_ids": tf.zeros([1, 8], tf.int32),
            "masked_lm_positions": tf.constant(POSITIONS, tf.int32),
        },
        training=False,
    )
    theirs = model(input_ids=tf.constant(IDS), training=False)
    np.testing.assert_allclose(
        outputs["mlm_logits"].numpy(),
        tf.gather(theirs.prediction_logits, POSITIONS, batch_dims=1).numpy(),
        atol=1e-4,
    )
    np.testing.assert_allclose(
        outputs["next_sentence_logits"].numpy(), theirs.seq_relationship_logits.numpy(), atol=1e-4
    )
    assert loaded.normalization.lower_case is False
