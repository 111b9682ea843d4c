"""Regenerates the TF Model Garden BERT fixture (not run by the tests).

Builds a small random BERT with Model Garden's own classes (tf-models-official 2.16.0:
`networks.BertEncoderV2`, `models.BertPretrainerV2` with the masked-LM activation of
its pretraining task, `tf_utils.get_activation("gelu")`), draws every weight (biases and
layer norms included) from a seeded generator, and writes:

  ckpt-1.*, checkpoint   tf.train.Checkpoint(**pretrainer.checkpoint_items), the layout
                         of Model Garden's published TF2 BERT checkpoints
  vocab.txt              the vocabulary the ids below index
  expected.json          inputs and Model Garden's own outputs on them: mlm_logits,
                         sequence_output, pooled_output

Needs tf-models-official importable (benchmarks/model_garden.py installs it):

  python -c "import sys; sys.path.insert(0, 'benchmarks'); import model_garden; \
      model_garden.install('.cache/model-garden')"
  PYTHONPATH=.cache/model-garden:. .venv/bin/python \
      tests/components/convert/testdata/model_garden/regenerate.py
"""

import glob
import json
import os

import numpy as np
import tensorflow as tf
from official.modeling import tf_utils
from official.nlp.modeling import models, networks

from tests.components.convert import hf_models

HERE = os.path.dirname(os.path.abspath(__file__))
IDS = [[2, 5, 4, 7, 8, 9, 10, 3], [2, 11, 12, 4, 13, 3, 0, 0]]
MASK = [[1] * 8, [1, 1, 1, 1, 1, 1, 0, 0]]
TYPES = [[0, 0, 0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 0, 0]]
POSITIONS = [[1, 2, 5], [2, 3, 4]]
OUTPUTS = ("mlm_logits", "sequence_output", "pooled_output")


def main():
    encoder = networks.BertEncoderV2(
        vocab_size=len(hf_models.VOCAB),
        hidden_size=32,
        num_layers=2,
        num_attention_heads=4,
        inner_dim=48,
        max_sequence_length=64,
        type_vocab_size=2,
        dropout_rate=0.0,
        attention_dropout_rate=0.0,
    )
    pretrainer = models.BertPretrainerV2(
        encoder_network=encoder, mlm_activation=tf_utils.get_activation("gelu")
    )
    inputs = {
        "input_word_ids": tf.constant(IDS, tf.int32),
        "input_mask": tf.constant(MASK, tf.int32),
        "input_type_ids": tf.constant(TYPES, tf.int32),
        "masked_lm_positions": tf.constant(POSITIONS, tf.int32),
    }
    pretrainer(inputs, training=False)
    rng = np.random.default_rng(7)
    for variable in pretrainer.trainable_variables:
        base = 1.0 if "gamma" in variable.name else 0.0
        variable.assign(base + 0.2 * rng.standard_normal(variable.shape).astype(np.float32))
    outputs = pretrainer(inputs, training=False)
    for old in glob.glob(os.path.join(HERE, "ckpt-*")):
        os.remove(old)
    tf.train.Checkpoint(**pretrainer.checkpoint_items).save(os.path.join(HERE, "ckpt"))
    with open(os.path.join(HERE, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(hf_models.VOCAB) + "\n")
    expected = {
        "input_word_ids": IDS,
        "input_mask": MASK,
        "input_type_ids": TYPES,
        "masked_lm_positions": POSITIONS,
        **{
            k: outputs[k].numpy().tolist()
            for k in ("mlm_logits", "sequence_output", "pooled_output")
        },
    }
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main()
