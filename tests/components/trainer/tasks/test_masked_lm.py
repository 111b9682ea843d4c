"""Tests for MaskedLMTask: steps, losses, metrics, learning."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from components import features
from components.trainer.models.bert_pretrainer import MLM_LOGITS, NEXT_SENTENCE_LOGITS
from components.trainer.tasks import masked_lm
from components.trainer.tasks.masked_lm import MaskedLMTask
from tests.components.trainer.tasks.conftest import tiny_config


def _log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def _batch(seed):
    """Fixed labels and logits: 2 examples, 3 masked slots, vocabulary of 5."""
    rng = np.random.default_rng(seed)
    labels = {
        features.MASKED_LM_IDS: rng.integers(0, 5, [2, 3]).astype(np.int32),
        features.MASKED_LM_WEIGHTS: np.array([[1, 1, 0], [1, 0, 0]], np.float32),
        features.NEXT_SENTENCE_LABELS: np.array([0, 1], np.int32),
    }
    outputs = {
        MLM_LOGITS: rng.normal(size=[2, 3, 5]).astype(np.float32),
        NEXT_SENTENCE_LOGITS: rng.normal(size=[2, 2]).astype(np.float32),
    }
    return labels, outputs


def _by_hand(batches):
    """The metrics over all batches, computed directly with NumPy."""
    mlm_ce, mlm_hit, weights, nsp_ce, nsp_hit = [], [], [], [], []
    for labels, outputs in batches:
        ids, w = labels[features.MASKED_LM_IDS], labels[features.MASKED_LM_WEIGHTS]
        logp = _log_softmax(outputs[MLM_LOGITS])
        mlm_ce += list((-np.take_along_axis(logp, ids[..., None], -1)[..., 0]).ravel())
        mlm_hit += list((outputs[MLM_LOGITS].argmax(-1) == ids).ravel())
        weights += list(w.ravel())
        nsp = labels[features.NEXT_SENTENCE_LABELS]
        nsp_logp = _log_softmax(outputs[NEXT_SENTENCE_LOGITS])
        nsp_ce += list(-nsp_logp[np.arange(len(nsp)), nsp])
        nsp_hit += list(outputs[NEXT_SENTENCE_LOGITS].argmax(-1) == nsp)
    weights = np.array(weights)
    mlm_loss = np.sum(np.array(mlm_ce) * weights) / weights.sum()
    return {
        masked_lm.MASKED_LM_ACCURACY: np.sum(np.array(mlm_hit) * weights) / weights.sum(),
        masked_lm.MASKED_LM_LOSS: mlm_loss,
        masked_lm.NEXT_SENTENCE_ACCURACY: np.mean(nsp_hit),
        masked_lm.NEXT_SENTENCE_LOSS: np.mean(nsp_ce),
        masked_lm.TOTAL_LOSS: mlm_loss + np.mean(nsp_ce),
    }


def test_metrics_equal_hand_computed_values_on_fixed_logits():
    task = MaskedLMTask(tiny_config("unused"))
    metrics = task.build_metrics(training=False)
    batches = [_batch(0), _batch(1)]
    for labels, outputs in batches:
        task.process_metrics(metrics, labels, outputs)
    want = _by_hand(batches)
    got = {m.name: float(m.result()) for m in metrics}
    assert set(got) == set(want)
    for name, value in want.items():
        assert got[name] == pytest.approx(value, rel=1e-5), name


def test_loss_equals_hand_computed_masked_lm_plus_next_sentence_loss():
    task = MaskedLMTask(tiny_config("unused"))
    labels, outputs = _batch(2)
    want = _by_hand([(labels, outputs)])[masked_lm.TOTAL_LOSS]
    assert float(task.build_losses(labels, outputs)) == pytest.approx(want, rel=1e-5)
    aux = [tf.constant(0.25), tf.constant(0.5)]
    assert float(task.build_losses(labels, outputs, aux)) == pytest.approx(want + 0.75, rel=1e-5)


def test_without_next_sentence_there_is_no_head_loss_or_metric(examples):
    task = MaskedLMTask(tiny_config(examples, use_next_sentence_label=False))
    labels, outputs = _batch(3)
    del labels[features.NEXT_SENTENCE_LABELS], outputs[NEXT_SENTENCE_LOGITS]
    want = _by_hand(
        [(labels | {features.NEXT_SENTENCE_LABELS: np.zeros(2, np.int32)}, _batch(3)[1])]
    )
    assert float(task.build_losses(labels, outputs)) == pytest.approx(
        want[masked_lm.MASKED_LM_LOSS], rel=1e-5
    )
    names = [m.name for m in task.build_metrics()]
    assert names == [masked_lm.MASKED_LM_ACCURACY, masked_lm.MASKED_LM_LOSS, masked_lm.TOTAL_LOSS]
    model = task.build_model()
    assert set(model(next(iter(task.build_inputs(task.config.train_data))))) == {MLM_LOGITS}


def test_smoke_build_model_one_train_step_and_one_validation_step(examples):
    config = tiny_config(examples)
    task = MaskedLMTask(config)
    strategy = tf.distribute.get_strategy()
    model = task.build_model()
    optimizer = tf_keras.optimizers.Adam(1e-3)
    train_metrics = task.build_metrics(training=True)
    before = [v.numpy().copy() for v in model.trainable_variables]
    iterator = iter(task.build_inputs(config.train_data))

    @tf.function
    def train(iterator):
        return strategy.run(task.train_step, args=(next(iterator), model, optimizer, train_metrics))

    logs = train(iterator)
    assert set(logs) == {task.loss}
    assert np.isfinite(float(logs[task.loss]))
    changed = [not np.array_equal(b, v.numpy()) for b, v in zip(before, model.trainable_variables)]
    assert all(changed)  # Every variable gets a gradient (tied embedding included).
    assert all(float(m.result()) > 0 for m in train_metrics if "loss" in m.name)

    eval_metrics = task.build_metrics(training=False)
    batch = next(iter(task.build_inputs(config.validation_data)))
    logs = task.validation_step(batch, model, eval_metrics)
    results = {m.name: float(m.result()) for m in eval_metrics}
    assert results[masked_lm.TOTAL_LOSS] == pytest.approx(float(logs[task.loss]), rel=1e-5)
    outputs = task.inference_step(batch, model)
    assert outputs[MLM_LOGITS].shape == (4, 3, 60)


@pytest.mark.slow
def test_tiny_model_overfits_one_fixed_batch(examples):
    tf_keras.utils.set_random_seed(3)
    config = tiny_config(examples, batch_size=8, dropout=0.0)
    task = MaskedLMTask(config)
    model = task.build_model()
    optimizer = tf_keras.optimizers.Adam(1e-3)
    batch = next(iter(task.build_inputs(config.train_data)))
    step = tf.function(lambda: task.train_step(batch, model, optimizer))

    def accuracy():
        metrics = task.build_metrics(training=False)
        task.validation_step(batch, model, metrics)
        return {m.name: float(m.result()) for m in metrics}

    start = accuracy()
    for _ in range(12):
        for _ in range(25):
            step()
        end = accuracy()
        if end[masked_lm.MASKED_LM_ACCURACY] > 0.9:
            break
    assert end[masked_lm.MASKED_LM_ACCURACY] > 0.9
    assert end[masked_lm.TOTAL_LOSS] < start[masked_lm.TOTAL_LOSS] / 4
