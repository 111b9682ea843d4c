"""`TransformerBlock`: one post-layer-norm BERT transformer layer.

Self-attention (one fused query/key/value projection), residual + layer norm, then a
feed-forward layer, residual + layer norm, as in the original BERT. Attention scores and
the softmax are computed in float32 even under a bfloat16/float16 mixed-precision policy,
so that masking with a large negative bias and the softmax stay exact.
"""

from __future__ import annotations

import math

import tensorflow as tf
import tf_keras

_LAYER_NORM_EPSILON = 1e-12


def activation_fn(name: str):
    """The activation function for a `BertConfig.hidden_activation` name."""
    if name == "gelu":
        return lambda x: tf_keras.activations.gelu(x, approximate=True)
    if name == "gelu_exact":
        return lambda x: tf_keras.activations.gelu(x, approximate=False)
    return tf_keras.activations.get(name)


_GELU_SCALE = math.sqrt(2.0 / math.pi)


@tf.function(jit_compile=True)
def _gelu_and_derivative(x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """tanh-approximate GELU and its derivative, in one XLA kernel."""
    inner = _GELU_SCALE * (x + 0.044715 * x * x * x)
    t = tf.tanh(inner)
    value = 0.5 * x * (1.0 + t)
    derivative = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _GELU_SCALE * (
        1.0 + 3.0 * 0.044715 * x * x
    )
    return value, derivative


@tf.custom_gradient
def gelu_for_training(x: tf.Tensor):
    """`activation_fn("gelu")` for training steps: the same values, a cheaper gradient.

    TensorFlow's GELU is eight elementwise ops forward and more backward over the
    largest activation of a block ([batch * seq, intermediate]); here the forward pass
    computes the value and the derivative in one fused XLA kernel and the backward pass
    is one multiply (measurably faster on CPU, see benchmarks/README.md). Only for
    training (`training=True`): XLA compiles per
    input shape, which would slow serving with varying batch sizes.
    """
    value, derivative = _gelu_and_derivative(x)

    def grad(upstream):
        return upstream * tf.cast(derivative, upstream.dtype)

    return value, grad


def initializer(stddev: float) -> tf_keras.initializers.Initializer:
    """BERT's weight initializer: a truncated normal with the given stddev."""
    return tf_keras.initializers.TruncatedNormal(stddev=stddev)


def attention_bias(input_mask: tf.Tensor) -> tf.Tensor:
    """[batch, seq] 0/1 padding mask -> [batch, 1, 1, seq] float32 additive bias.

    Computed once per batch by the encoder and shared by every block.
    """
    mask = tf.cast(input_mask, tf.float32)[:, tf.newaxis, tf.newaxis, :]
    return (1.0 - mask) * -1e9


class TransformerBlock(tf_keras.layers.Layer):
    """A BERT transformer block: [batch, seq, hidden] -> [batch, seq, hidden].

    Args:
      num_attention_heads: heads; must divide the input width.
      intermediate_size: width of the feed-forward layer.
      hidden_activation: a `BertConfig.hidden_activation` name.
      dropout_rate: dropout after the attention output and the feed-forward output.
      attention_dropout_rate: dropout on attention probabilities.
      initializer_range: stddev of the truncated-normal kernel initializer.
    """

    def __init__(
        self,
        num_attention_heads: int,
        intermediate_size: int,
        hidden_activation: str = "gelu",
        dropout_rate: float = 0.1,
        attention_dropout_rate: float = 0.1,
        initializer_range: float = 0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._block_config = {
            "num_attention_heads": num_attention_heads,
            "intermediate_size": intermediate_size,
            "hidden_activation": hidden_activation,
            "dropout_rate": dropout_rate,
            "attention_dropout_rate": attention_dropout_rate,
            "initializer_range": initializer_range,
        }
        self._num_heads = num_attention_heads
        self._attention_dropout = tf_keras.layers.Dropout(attention_dropout_rate)
        self._attention_output_dropout = tf_keras.layers.Dropout(dropout_rate)
        self._output_dropout = tf_keras.layers.Dropout(dropout_rate)
        # GELU is applied in `call`, where training selects the fused version.
        self._activation = activation_fn(hidden_activation)
        self._fused_gelu = hidden_activation == "gelu"
        self._intermediate = tf_keras.layers.Dense(
            intermediate_size,
            kernel_initializer=initializer(initializer_range),
            name="intermediate",
        )
        self._attention_layer_norm = tf_keras.layers.LayerNormalization(
            epsilon=_LAYER_NORM_EPSILON, dtype=tf.float32, name="attention_layer_norm"
        )
        self._output_layer_norm = tf_keras.layers.LayerNormalization(
            epsilon=_LAYER_NORM_EPSILON, dtype=tf.float32, name="output_layer_norm"
        )
        self._initializer_range = initializer_range

    def build(self, input_shape):
        hidden = int(input_shape[-1])
        if hidden % self._num_heads:
            raise ValueError(f"width {hidden} is not a multiple of {self._num_heads} heads")
        self._head_size = hidden // self._num_heads
        # One [hidden, 3 * hidden] matmul instead of three: fewer, larger kernels.
        self._qkv = tf_keras.layers.Dense(
            3 * hidden, kernel_initializer=initializer(self._initializer_range), name="qkv"
        )
        self._attention_output = tf_keras.layers.Dense(
            hidden, kernel_initializer=initializer(self._initializer_range), name="attention_output"
        )
        self._output = tf_keras.layers.Dense(
            hidden, kernel_initializer=initializer(self._initializer_range), name="output"
        )
        super().build(input_shape)

    def call(self, x, bias, training=None):
        """Runs the block.

        Args:
          x: [batch, seq, hidden] token representations.
          bias: [batch, 1, 1, seq] float32 additive attention bias (`attention_bias`).
          training: enables dropout.
        """
        batch, seq = tf.shape(x)[0], tf.shape(x)[1]
        hidden = self._num_heads * self._head_size
        qkv = tf.reshape(self._qkv(x), [batch, seq, 3, self._num_heads, self._head_size])
        query, key, value = tf.unstack(qkv, axis=2)
        # Scaling the query is cheaper than scaling the [batch, heads, seq, seq] scores.
        query = query * tf.cast(1.0 / math.sqrt(self._head_size), query.dtype)
        scores = tf.einsum("bqnh,bknh->bnqk", query, key)
        probs = tf.nn.softmax(tf.cast(scores, tf.float32) + bias, axis=-1)
        probs = self._attention_dropout(tf.cast(probs, value.dtype), training=training)
        context = tf.reshape(tf.einsum("bnqk,bknh->bqnh", probs, value), [batch, seq, hidden])
        attention = self._attention_output_dropout(
            self._attention_output(context), training=training
        )
        x = tf.cast(self._attention_layer_norm(x + attention), x.dtype)
        hidden = self._intermediate(x)
        if self._fused_gelu and training is True:
            hidden = gelu_for_training(hidden)
        else:
            hidden = self._activation(hidden)
        out = self._output_dropout(self._output(hidden), training=training)
        return tf.cast(self._output_layer_norm(x + out), x.dtype)

    def get_config(self):
        return {**super().get_config(), **self._block_config}
