"""Tests for the optimizer: BERT's schedule, weight-decay exclusions, global-norm clipping."""

import numpy as np
import pytest
import tensorflow as tf

from components.trainer import optimization
from components.trainer.experiment import OptimizerConfig


def test_schedule_warms_up_linearly_then_decays_linearly_to_the_end_rate():
    schedule = optimization.WarmupPolynomialDecay(
        learning_rate=1.0, warmup_steps=10, decay_steps=100, end_learning_rate=0.1
    )
    values = {step: float(schedule(step)) for step in (0, 5, 10, 55, 100, 150)}
    assert values[0] == 0.0
    assert values[5] == pytest.approx(0.5)
    # After warm-up: BERT's decay curve measured from step 0.
    assert values[10] == pytest.approx(0.9 * 0.9 + 0.1)
    assert values[55] == pytest.approx(0.9 * 0.45 + 0.1)
    assert values[100] == pytest.approx(0.1)
    assert values[150] == pytest.approx(0.1)


def test_schedule_decays_over_train_steps_unless_decay_steps_is_set():
    config = OptimizerConfig(learning_rate=2.0, warmup_steps=0)
    assert optimization.learning_rate_schedule(config, 40).decay_steps == 40
    config = OptimizerConfig(learning_rate=2.0, warmup_steps=0, decay_steps=8, power=2.0)
    schedule = optimization.learning_rate_schedule(config, 40)
    assert float(schedule(4)) == pytest.approx(2.0 * 0.5**2)


def _apply_once(config, grads, variables):
    schedule = optimization.WarmupPolynomialDecay(0.1, 0, 10**6)
    optimizer = optimization.build_optimizer(config, schedule)
    optimizer.apply_gradients(zip(grads, variables))
    return [v.numpy() for v in variables]


def test_weight_decay_skips_layer_norm_and_bias_variables():
    names = ["encoder/qkv/kernel", "encoder/qkv/bias", "encoder/attention_layer_norm/gamma"]
    variables = [tf.Variable(np.ones(3, np.float32), name=n) for n in names]
    zeros = [tf.zeros(3) for _ in variables]
    kernel, bias, gamma = _apply_once(OptimizerConfig(weight_decay=0.5), zeros, variables)
    # Zero gradients: only decoupled decay moves a variable, by lr * wd * value.
    np.testing.assert_allclose(kernel, 1.0 - 0.1 * 0.5, rtol=1e-6)
    np.testing.assert_array_equal(bias, 1.0)
    np.testing.assert_array_equal(gamma, 1.0)


def test_gradients_are_clipped_to_the_global_norm():
    a, b = tf.Variable([0.0, 0.0], name="a"), tf.Variable([0.0], name="b")
    grads = [tf.constant([30.0, 40.0]), tf.constant([0.0])]  # global norm 50
    clipped = optimization.build_optimizer(
        OptimizerConfig(weight_decay=0.0, global_clipnorm=1.0),
        optimization.WarmupPolynomialDecay(0.1, 0, 10**6),
    )
    clipped.apply_gradients(zip(grads, [a, b]))
    # Adam's first step moves each coordinate by ~lr whatever the scale, so compare the
    # clipped gradient Adam saw instead: its first moment is (1 - beta_1) * g_clipped.
    (m,) = [v.numpy() for v in clipped.variables if v.name == "AdamW/m/a:0"]
    np.testing.assert_allclose(m / (1 - 0.9), [0.6, 0.8], rtol=1e-5)
