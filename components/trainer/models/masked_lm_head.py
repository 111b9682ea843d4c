"""`MaskedLMHead`: vocabulary logits at the masked positions, tied to the token embedding."""

from __future__ import annotations

import tensorflow as tf
import tf_keras

from components.trainer.models.transformer import activation_fn, initializer


class MaskedLMHead(tf_keras.layers.Layer):
    """Predicts the original token at each masked position.

    Gathers the masked positions first, so the expensive projection onto the vocabulary
    runs on [batch * max_predictions, hidden] rows instead of [batch * seq, hidden]. Each
    gathered vector goes through a dense layer with the encoder's activation and a layer
    norm, then is multiplied by the transposed token-embedding matrix (weights tied with
    the encoder's input embedding, as in BERT) plus a per-token output bias.

    Args:
      embedding: the encoder's token `Embedding` layer, whose matrix is the output
        projection.
      hidden_activation: a `BertConfig.hidden_activation` name.
      initializer_range: stddev of the dense layer's truncated-normal initializer.
    """

    def __init__(
        self,
        embedding: tf_keras.layers.Embedding,
        hidden_activation: str = "gelu",
        initializer_range: float = 0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.embedding = embedding
        self._activation = hidden_activation
        self._initializer_range = initializer_range
        self.transform = tf_keras.layers.Dense(
            embedding.output_dim,
            activation=activation_fn(hidden_activation),
            kernel_initializer=initializer(initializer_range),
            name="transform",
        )
        self.layer_norm = tf_keras.layers.LayerNormalization(
            epsilon=1e-12, dtype=tf.float32, name="layer_norm"
        )

    def build(self, input_shape):
        self.output_bias = self.add_weight(
            "output_bias", shape=[self.embedding.input_dim], initializer="zeros"
        )
        super().build(input_shape)

    def call(self, sequence_output, masked_positions):
        """Logits for the masked positions.

        Args:
          sequence_output: [batch, seq, hidden] encoder output.
          masked_positions: [batch, max_predictions] int positions (padding points at 0
            and is weighted out by the loss).

        Returns:
          [batch, max_predictions, vocab_size] logits in the compute dtype.
        """
        hidden = self.embedding.output_dim
        batch = tf.shape(masked_positions)[0]
        num_predictions = tf.shape(masked_positions)[1]
        gathered = tf.gather(sequence_output, masked_positions, batch_dims=1)
        x = tf.reshape(gathered, [-1, hidden])
        x = tf.cast(self.layer_norm(self.transform(x)), sequence_output.dtype)
        table = tf.cast(self.embedding.embeddings, x.dtype)
        # A plain 2-D MatMul: faster than a broadcasting batched matmul on CPU and GPU.
        logits = tf.matmul(x, table, transpose_b=True) + tf.cast(self.output_bias, x.dtype)
        return tf.reshape(logits, [batch, num_predictions, self.embedding.input_dim])

    def get_config(self):
        # The tied embedding is an object, not config: build heads via `BertPretrainer`.
        return {
            **super().get_config(),
            "hidden_activation": self._activation,
            "initializer_range": self._initializer_range,
        }
