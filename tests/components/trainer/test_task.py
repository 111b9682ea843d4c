"""Tests for the Task base class: warm start from a checkpoint, loss-scaled train step."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from components.errors import BertpipeError
from components.trainer.tasks.masked_lm import MaskedLMTask
from tests.components.trainer.tasks.conftest import tiny_config


def _task(init_checkpoint=""):
    config = dataclasses.replace(tiny_config("unused"), init_checkpoint=init_checkpoint)
    return MaskedLMTask(config)


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))


def test_initialize_restores_only_the_parts_in_the_checkpoint(tmp_path):
    source = _task().build_model()
    prefix = tf.train.Checkpoint(encoder=source.encoder).write(str(tmp_path / "encoder"))

    task = _task(init_checkpoint=prefix)
    model = task.build_model()
    assert not _same(model.encoder, source.encoder)
    task.initialize(model)
    assert _same(model.encoder, source.encoder)
    # The head's own weights were not in the checkpoint; its tied embedding was.
    assert not np.array_equal(
        model.masked_lm.transform.kernel.numpy(), source.masked_lm.transform.kernel.numpy()
    )


def test_initialize_from_a_directory_reads_its_latest_checkpoint(tmp_path):
    source = _task().build_model()
    checkpoint = tf.train.Checkpoint(**source.checkpoint_items)
    checkpoint.save(str(tmp_path / "ckpt"))
    task = _task(init_checkpoint=str(tmp_path))
    model = task.build_model()
    task.initialize(model)
    assert _same(model, source)


def test_initialize_from_a_training_checkpoint_restores_the_whole_model(tmp_path):
    source = _task().build_model()
    optimizer = tf_keras.optimizers.Adam()
    prefix = tf.train.Checkpoint(model=source, optimizer=optimizer).write(str(tmp_path / "run"))
    task = _task(init_checkpoint=prefix)
    model = task.build_model()
    task.initialize(model)
    assert _same(model, source)


def test_initialize_without_init_checkpoint_changes_nothing():
    task = _task()
    model = task.build_model()
    before = model.get_weights()
    task.initialize(model)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_missing_init_checkpoint_is_an_error(tmp_path):
    task = _task(init_checkpoint=str(tmp_path / "nothing"))
    with pytest.raises(BertpipeError, match=r"init_checkpoint '.*nothing' is not a readable"):
        task.initialize(task.build_model())


def test_init_checkpoint_of_another_model_names_what_it_holds(tmp_path):
    prefix = tf.train.Checkpoint(other=tf.Variable(1.0)).write(str(tmp_path / "other"))
    task = _task(init_checkpoint=prefix)
    with pytest.raises(
        BertpipeError,
        match=r"holds none of the model's parts \['encoder', 'masked_lm', 'model'.*'other'",
    ):
        task.initialize(task.build_model())


def test_loss_scale_optimizer_step_equals_plain_step():
    task = MaskedLMTask(tiny_config("unused", dropout=0.0))  # identical forward passes
    inputs = {
        "input_word_ids": tf.constant([[2, 7, 8, 9, 3] + [0] * 11], tf.int32),
        "input_mask": tf.constant([[1] * 5 + [0] * 11], tf.int32),
        "input_type_ids": tf.zeros([1, 16], tf.int32),
        "masked_lm_positions": tf.constant([[1, 2, 0]], tf.int32),
        "masked_lm_ids": tf.constant([[10, 11, 0]], tf.int32),
        "masked_lm_weights": tf.constant([[1.0, 1.0, 0.0]]),
        "next_sentence_labels": tf.constant([1], tf.int32),
    }
    plain, scaled = task.build_model(), task.build_model()
    scaled.set_weights(plain.get_weights())
    task.train_step(inputs, plain, tf_keras.optimizers.SGD(0.5))
    optimizer = tf_keras.mixed_precision.LossScaleOptimizer(tf_keras.optimizers.SGD(0.5))
    task.train_step(inputs, scaled, optimizer)
    assert float(optimizer.loss_scale) > 1  # the loss really was scaled
    for a, b in zip(plain.get_weights(), scaled.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
