"""The evaluator's metrics equal a direct NumPy computation over the same records."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from components import features
from components.errors import BertpipeError
from components.evaluator import metrics as eval_metrics
from components.trainer import registry
from tests.components import tiny_model
from tests.components.trainer import records

SCHEMA = features.MaskedLMSchema(tiny_model.SEQ_LENGTH, tiny_model.MAX_PREDICTIONS)
COUNT = 13  # batches of 5: two full, one partial


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("examples"))
    values = records.make_records(SCHEMA, COUNT, seed=3, vocab_size=len(tiny_model.VOCAB))
    pattern = records.write_split(root, "eval", SCHEMA, values)
    config = tiny_model.tiny_config(pattern, batch_size=5)
    task = registry.get_task(config)
    tf.keras.utils.set_random_seed(1)
    model = task.build_model()
    return task, model, config.validation_data, values


def _direct(model, values):
    """NumPy over every record at once: the metric definitions, written out."""
    batch = {name: np.array([v[name] for v in values]) for name in features.FEATURE_NAMES}
    outputs = model(
        {
            "input_word_ids": batch["input_ids"].astype(np.int32),
            "input_mask": batch["input_mask"].astype(np.int32),
            "input_type_ids": batch["segment_ids"].astype(np.int32),
            "masked_lm_positions": batch["masked_lm_positions"].astype(np.int32),
        },
        training=False,
    )
    logits = outputs["mlm_logits"].numpy().astype(np.float64)
    nsp = outputs["next_sentence_logits"].numpy().astype(np.float64)

    def log_softmax(x):
        x = x - x.max(-1, keepdims=True)
        return x - np.log(np.exp(x).sum(-1, keepdims=True))

    ids, w = batch["masked_lm_ids"], batch["masked_lm_weights"]
    ce = -np.take_along_axis(log_softmax(logits), ids[..., None], -1)[..., 0]
    labels = batch["next_sentence_labels"][:, 0]
    nsp_ce = -log_softmax(nsp)[np.arange(len(labels)), labels]
    mlm_loss = (ce * w).sum() / w.sum()
    return (
        batch,
        logits,
        {
            "masked_lm_accuracy": ((logits.argmax(-1) == ids) * w).sum() / w.sum(),
            "masked_lm_loss": mlm_loss,
            "next_sentence_accuracy": (nsp.argmax(-1) == labels).mean(),
            "next_sentence_loss": nsp_ce.mean(),
            "total_loss": mlm_loss + nsp_ce.mean(),
        },
    )


def test_metrics_equal_a_direct_computation_over_the_same_records(setup):
    task, model, data, values = setup
    result = eval_metrics.evaluate(task, model, data)
    _, _, expected = _direct(model, values)
    assert result.examples == COUNT
    assert sorted(result.metrics) == sorted(expected)
    for name, value in expected.items():
        assert result.metrics[name] == pytest.approx(value, rel=1e-5, abs=1e-6), name
    weights = sum(sum(v["masked_lm_weights"]) for v in values)
    assert result.masked_tokens == weights


def test_max_eval_examples_evaluates_only_the_first_records(setup):
    task, model, data, values = setup
    # One shard holds records 0, 2, 4, ...: read it alone to know which records come first.
    first_shard = data.input_path[0].replace("*", "data_tfrecord-00000-of-00002.gz")
    data = dataclasses.replace(data, input_path=first_shard)
    result = eval_metrics.evaluate(task, model, data, max_examples=4)
    _, _, expected = _direct(model, values[0::2][:4])
    assert result.examples == 4
    assert result.metrics["masked_lm_loss"] == pytest.approx(expected["masked_lm_loss"], rel=1e-5)


def test_breakdowns_equal_a_direct_count(setup):
    task, model, data, values = setup
    result = eval_metrics.evaluate(task, model, data)
    batch, logits, _ = _direct(model, values)
    vocab = len(tiny_model.VOCAB)
    ids, w, pos = batch["masked_lm_ids"], batch["masked_lm_weights"], batch["masked_lm_positions"]
    correct = (logits.argmax(-1) == ids) * w
    # The original text: real tokens with the masked positions restored.
    text = batch["input_ids"].copy()
    for row in range(len(text)):
        for j in range(ids.shape[1]):
            if w[row, j]:
                text[row, pos[row, j]] = ids[row, j]
    counts = np.bincount(text[batch["input_mask"] == 1], minlength=vocab).astype(float)
    np.testing.assert_array_equal(result.token_counts, counts)
    ranks = np.empty(vocab, int)
    ranks[np.lexsort((np.arange(vocab), -counts))] = np.arange(1, vocab + 1)
    top = ranks[ids] <= 10
    expected_freq = [
        ("1-10", (w * top).sum(), (correct * top).sum()),
        (f"11-{vocab}", (w * ~top).sum(), (correct * ~top).sum()),
    ]
    assert [(b.label, b.masked, b.correct) for b in result.by_frequency] == expected_freq
    # seq_length 16 in 8 ranges of 2 positions.
    expected_pos = [
        (
            f"{lo}-{lo + 1}",
            (w * (pos // 2 == lo // 2)).sum(),
            (correct * (pos // 2 == lo // 2)).sum(),
        )
        for lo in range(0, 16, 2)
    ]
    assert [(b.label, b.masked, b.correct) for b in result.by_position] == expected_pos


def test_records_of_another_length_fail_with_the_setting_to_change(setup, tmp_path):
    task, model, data, _ = setup
    other = features.MaskedLMSchema(12, tiny_model.MAX_PREDICTIONS)
    pattern = records.write_split(str(tmp_path), "eval", other, records.make_records(other, 3))
    with pytest.raises(BertpipeError, match=r"input_ids has length 12, expected 16"):
        eval_metrics.evaluate(task, model, dataclasses.replace(data, input_path=pattern))
