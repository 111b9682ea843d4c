"""`BertEncoder`: the BERT transformer encoder, and the names of its inputs.

Keras: bertpipe's models are written against `tf_keras` (Keras 2), not Keras 3 (what
`tf.keras` means in TensorFlow 2.16), because:
  * TFX 1.16 (Trainer, TFMA) and TF Model Garden 2.16 are built on it (they run with
    `TF_USE_LEGACY_KERAS=1`), so the models drop into those tools unchanged;
  * a `tf_keras` model saves as a TensorFlow SavedModel with any number of custom
    `tf.function` signatures (`tf.saved_model.save`), also from inside a `tf.distribute`
    strategy scope, which the exporter and the raw-text `fill_mask` signature need; Keras 3
    saves `.keras` files and exports SavedModels only through its narrower `ExportArchive`;
  * its optimizers, metrics and mixed-precision policies (`mixed_bfloat16`) are the ones
    `tf.distribute` custom loops (MirroredStrategy, MultiWorkerMirroredStrategy,
    TPUStrategy) were designed and tested with.
Never mix the two: a `tf.keras` (Keras 3) layer or optimizer does not work with these
models.

The encoder is a subclassed `tf_keras.Model` so that it can be checkpointed and exported
on its own (the encoder SavedModel for fine-tuning users). Its inputs use the TF Hub /
Model Garden BERT names (`input_word_ids`, `input_mask`, `input_type_ids`), so exported
encoders are drop-in for code written against those.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras

from components.trainer.configs import BertConfig
from components.trainer.models.transformer import (
    TransformerBlock,
    attention_bias,
    initializer,
)

# Model input names (the data loader maps the feature schema onto these).
INPUT_WORD_IDS = "input_word_ids"
INPUT_MASK = "input_mask"
INPUT_TYPE_IDS = "input_type_ids"
POSITION_IDS = "position_ids"  # optional

# Encoder output names.
SEQUENCE_OUTPUT = "sequence_output"
POOLED_OUTPUT = "pooled_output"


class BertEncoder(tf_keras.Model):
    """BERT encoder: token ids -> per-token and pooled representations.

    Token, position and segment embeddings are summed, layer-normalised and dropped out,
    then run through `num_layers` `TransformerBlock`s. The pooled output is a tanh dense
    layer over the first ([CLS]) token.

    Call with a dict holding `input_word_ids`, `input_mask`, `input_type_ids` (int
    [batch, seq]) and optionally `position_ids`; other keys are ignored. Returns
    `{"sequence_output": [batch, seq, hidden], "pooled_output": [batch, hidden]}`.

    Args: the fields of `BertConfig` (see there).
    """

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int = 768,
        num_layers: int = 12,
        num_attention_heads: int = 12,
        intermediate_size: int = 3072,
        hidden_activation: str = "gelu",
        dropout_rate: float = 0.1,
        attention_dropout_rate: float = 0.1,
        max_position_embeddings: int = 512,
        type_vocab_size: int = 2,
        initializer_range: float = 0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._bert_config = BertConfig(
            vocab_size=vocab_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            num_attention_heads=num_attention_heads,
            intermediate_size=intermediate_size,
            hidden_activation=hidden_activation,
            dropout_rate=dropout_rate,
            attention_dropout_rate=attention_dropout_rate,
            max_position_embeddings=max_position_embeddings,
            type_vocab_size=type_vocab_size,
            initializer_range=initializer_range,
        )

        # A fresh initializer per weight: one unseeded instance gives identical values.
        def init():
            return initializer(initializer_range)

        self.token_embedding = tf_keras.layers.Embedding(
            vocab_size, hidden_size, embeddings_initializer=init(), name="token_embedding"
        )
        self.position_embedding = tf_keras.layers.Embedding(
            max_position_embeddings,
            hidden_size,
            embeddings_initializer=init(),
            name="position_embedding",
        )
        self.segment_embedding = tf_keras.layers.Embedding(
            type_vocab_size, hidden_size, embeddings_initializer=init(), name="segment_embedding"
        )
        self.embedding_layer_norm = tf_keras.layers.LayerNormalization(
            epsilon=1e-12, dtype=tf.float32, name="embedding_layer_norm"
        )
        self.embedding_dropout = tf_keras.layers.Dropout(dropout_rate)
        self.blocks = [
            TransformerBlock(
                num_attention_heads=num_attention_heads,
                intermediate_size=intermediate_size,
                hidden_activation=hidden_activation,
                dropout_rate=dropout_rate,
                attention_dropout_rate=attention_dropout_rate,
                initializer_range=initializer_range,
                name=f"transformer_{i}",
            )
            for i in range(num_layers)
        ]
        self.pooler = tf_keras.layers.Dense(
            hidden_size, activation="tanh", kernel_initializer=init(), name="pooler"
        )

    @property
    def config(self) -> BertConfig:
        """The architecture, as a `BertConfig`."""
        return self._bert_config

    def call(self, inputs, training=None):
        word_ids = inputs[INPUT_WORD_IDS]
        if POSITION_IDS in inputs:
            positions = self.position_embedding(inputs[POSITION_IDS])
        else:
            # [seq, hidden], broadcast over the batch: no [batch, seq] id tensor needed.
            positions = self.position_embedding(tf.range(tf.shape(word_ids)[1]))
        embeddings = (
            self.token_embedding(word_ids)
            + positions
            + self.segment_embedding(inputs[INPUT_TYPE_IDS])
        )
        x = tf.cast(self.embedding_layer_norm(embeddings), embeddings.dtype)
        x = self.embedding_dropout(x, training=training)
        bias = attention_bias(inputs[INPUT_MASK])
        for block in self.blocks:
            x = block(x, bias, training=training)
        return {SEQUENCE_OUTPUT: x, POOLED_OUTPUT: self.pooler(x[:, 0, :])}

    def get_config(self):
        return {f: getattr(self._bert_config, f) for f in self._bert_config.__dataclass_fields__}


def build_encoder(config: BertConfig, name: str = "bert_encoder") -> BertEncoder:
    """A `BertEncoder` with the architecture of `config` (variables created on first call)."""
    return BertEncoder(
        **{f: getattr(config, f) for f in config.__dataclass_fields__},
        name=name,
    )
