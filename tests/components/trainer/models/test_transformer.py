"""Tests for the transformer block's training-only fused GELU."""

import numpy as np
import tensorflow as tf

from components.trainer.models import transformer


def test_fused_gelu_matches_tensorflow_gelu_and_its_gradient():
    x = tf.constant(np.linspace(-6.0, 6.0, 1201, dtype=np.float32).reshape(1, -1))
    upstream = tf.constant(np.random.default_rng(0).normal(size=x.shape).astype(np.float32))
    results = []
    for fn in (transformer.gelu_for_training, transformer.activation_fn("gelu")):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
        results.append((y.numpy(), tape.gradient(y, x, output_gradients=upstream).numpy()))
    (fused, fused_grad), (plain, plain_grad) = results
    np.testing.assert_allclose(fused, plain, atol=1e-6)
    np.testing.assert_allclose(fused_grad, plain_grad, atol=1e-5)


def test_block_output_and_gradients_do_not_depend_on_the_fused_path():
    block = transformer.TransformerBlock(
        num_attention_heads=2, intermediate_size=32, dropout_rate=0.0, attention_dropout_rate=0.0
    )
    x = tf.random.stateless_normal([2, 5, 16], seed=[1, 2])
    bias = transformer.attention_bias(tf.ones([2, 5], tf.int32))
    outputs = []
    for training in (True, False):  # True: fused GELU; False: tf_keras' GELU
        with tf.GradientTape() as tape:
            y = block(x, bias, training=training)
            loss = tf.reduce_sum(y * y)
        outputs.append((y, tape.gradient(loss, block.trainable_variables)))
    (y_fused, g_fused), (y_plain, g_plain) = outputs
    np.testing.assert_allclose(y_fused, y_plain, atol=1e-5)
    for a, b in zip(g_fused, g_plain):
        np.testing.assert_allclose(a, b, atol=1e-4)
