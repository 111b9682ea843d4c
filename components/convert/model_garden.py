"""TF Model Garden BERT checkpoints (TF2, object-based) -> the canonical layout.

The layout of `tf.train.Checkpoint(**BertPretrainerV2.checkpoint_items)` (keys `encoder`,
`masked_lm`) or of an encoder alone (`encoder`), as tf-models-official 2.16.0 writes
them for `networks.BertEncoderV2` (official/nlp/modeling/networks/bert_encoder.py:
`_embedding_layer`, `_position_embedding_layer`, `_type_embedding_layer`,
`_embedding_norm_layer`, `_transformer_layers/<i>` of `layers.TransformerEncoderBlock`,
`_pooler_layer`) and `layers.MaskedLM` (official/nlp/modeling/layers/masked_lm.py:
`dense`, `layer_norm`, `output_bias`, and `embedding_table`, the encoder's word
embedding, which the checkpoint stores under the first path that reaches it).
Attention kernels are `EinsumDense` weights: query/key/value [hidden, heads, head_size]
and output [heads, head_size, hidden], reshaped to 2-D here.

The checkpoint holds no config: the architecture is read off the weight shapes, and
the activation is Model Garden's BERT default, `gelu` (tanh approximation,
official/modeling/activations/gelu.py). A `BertPretrainerV2` next-sentence
`ClassificationHead` has its own pooler, which bertpipe's next-sentence head (a dense
layer over the encoder's pooler, as BERT) has no place for: it is not converted.
"""

from __future__ import annotations

import re

import numpy as np
import tensorflow as tf

from components.convert import layout, tf1
from components.errors import BertpipeError
from components.trainer.configs import BertConfig

_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
_ENCODER = "encoder/"
_WORD = ("encoder/_embedding_layer/embeddings", "masked_lm/embedding_table")
_FIXED = {
    "encoder/_position_embedding_layer/embeddings": f"{layout.EMBEDDINGS}/position_embeddings",
    "encoder/_type_embedding_layer/embeddings": f"{layout.EMBEDDINGS}/token_type_embeddings",
    "encoder/_embedding_norm_layer/gamma": f"{layout.EMBEDDINGS}/LayerNorm/gamma",
    "encoder/_embedding_norm_layer/beta": f"{layout.EMBEDDINGS}/LayerNorm/beta",
    "encoder/_pooler_layer/kernel": f"{layout.POOLER}/kernel",
    "encoder/_pooler_layer/bias": f"{layout.POOLER}/bias",
    "masked_lm/dense/kernel": f"{layout.MLM}/transform/dense/kernel",
    "masked_lm/dense/bias": f"{layout.MLM}/transform/dense/bias",
    "masked_lm/layer_norm/gamma": f"{layout.MLM}/transform/LayerNorm/gamma",
    "masked_lm/layer_norm/beta": f"{layout.MLM}/transform/LayerNorm/beta",
    "masked_lm/output_bias.Sbias": layout.MLM_BIAS,
}
_LAYER = {
    "_attention_layer/_query_dense": "attention/self/query",
    "_attention_layer/_key_dense": "attention/self/key",
    "_attention_layer/_value_dense": "attention/self/value",
    "_attention_layer/_output_dense": "attention/output/dense",
    "_attention_layer_norm": "attention/output/LayerNorm",
    "_intermediate_dense": "intermediate/dense",
    "_output_dense": "output/dense",
    "_output_layer_norm": "output/LayerNorm",
}
_LAYER_RE = re.compile(r"encoder/_transformer_layers/(\d+)/(.+)/(kernel|bias|gamma|beta)$")


def is_model_garden_checkpoint(path: str) -> bool:
    """Whether `path` (directory or prefix) is a TF2 checkpoint of a Model Garden BERT."""
    prefix = tf1.checkpoint_prefix(path)
    if prefix is None:
        return False
    return any(name.startswith("encoder/_transformer_layers/") for name in _variables(prefix))


def _variables(prefix: str) -> dict[str, str]:
    """Object path without the attribute suffix -> checkpoint key."""
    return {
        name[: -len(_SUFFIX)]: name
        for name, _ in tf.train.list_variables(prefix)
        if name.endswith(_SUFFIX)
    }


def read(path: str) -> tuple[BertConfig, layout.Weights]:
    """The architecture (from the shapes) and canonical weights of the checkpoint."""
    prefix = tf1.checkpoint_prefix(path)
    reader = tf.train.load_checkpoint(prefix)
    weights: layout.Weights = {}
    heads = None
    for short, key in _variables(prefix).items():
        value = reader.get_tensor(key)
        if short in _WORD:
            weights[f"{layout.EMBEDDINGS}/word_embeddings"] = value
        elif short in _FIXED:
            weights[_FIXED[short]] = value
        elif match := _LAYER_RE.match(short):
            i, scope, leaf = int(match.group(1)), match.group(2), match.group(3)
            if scope not in _LAYER:
                raise BertpipeError(f"{path}: unknown Model Garden encoder weight {short}.")
            if scope.endswith("_query_dense") and leaf == "kernel":
                heads = value.shape[1]
            weights[f"{layout.layer(i)}/{_LAYER[scope]}/{leaf}"] = _flatten(value, scope, leaf)
    return _config(weights, heads, path), weights


def _flatten(value: np.ndarray, scope: str, leaf: str) -> np.ndarray:
    """EinsumDense attention weights -> the 2-D (or 1-D) BERT shapes."""
    if scope.endswith("_output_dense") and scope.startswith("_attention") and leaf == "kernel":
        return value.reshape(-1, value.shape[-1])  # [heads, size, hidden] -> [hidden, hidden]
    if scope.endswith(("_query_dense", "_key_dense", "_value_dense")):
        return value.reshape(value.shape[0], -1) if leaf == "kernel" else value.reshape(-1)
    return value


def _config(weights: layout.Weights, heads: int | None, path: str) -> BertConfig:
    word = weights.get(f"{layout.EMBEDDINGS}/word_embeddings")
    if word is None or heads is None:
        raise BertpipeError(
            f"{path} has no Model Garden BertEncoder word embeddings or attention layers; "
            f"give a checkpoint of BertEncoderV2 / BertPretrainerV2.checkpoint_items."
        )
    num_layers = 1 + max(
        int(m.group(1)) for k in weights if (m := re.match(r"bert/encoder/layer_(\d+)/", k))
    )
    return BertConfig(
        vocab_size=word.shape[0],
        hidden_size=word.shape[1],
        num_layers=num_layers,
        num_attention_heads=heads,
        intermediate_size=weights[f"{layout.layer(0)}/intermediate/dense/kernel"].shape[1],
        hidden_activation="gelu",
        max_position_embeddings=weights[f"{layout.EMBEDDINGS}/position_embeddings"].shape[0],
        type_vocab_size=weights[f"{layout.EMBEDDINGS}/token_type_embeddings"].shape[0],
    )
