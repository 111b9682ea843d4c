"""Streaming evaluation of a masked-LM model through its Task's own metrics.

`evaluate(task, model, data)` reads the split batch by batch (`task.build_inputs`, read
once, in order), runs `task.validation_step(inputs, model, metrics)` on each batch with the
metrics of `task.build_metrics(training=False)` (one definition of every metric, shared
with training), and never holds more than one batch in memory.

It also accumulates, from the same forward pass, masked-LM accuracy broken down
  * by token frequency: each target token's number of occurrences in the evaluated
    records' original text (every real token of `input_ids`, with the masked positions
    restored to their `masked_lm_ids`), ranked most frequent first and grouped by rank
    into decades: ranks 1-10, 11-100, 101-1000, ... Measured on the evaluated split itself
    (the training data's counts are not part of the model artifact, and vocabulary rank is
    not frequency order in a WordPiece vocabulary: characters and `##` pieces are listed
    first or last whatever their use);
  * by position: the masked token's index in the sequence, in 8 equal ranges of
    `seq_length`.
"""

from __future__ import annotations

import dataclasses
import logging
import math

import numpy as np
import tensorflow as tf

from components import features
from components.trainer import pretrain_dataloader
from components.trainer.configs import DataConfig
from components.trainer.models import bert
from components.trainer.models.bert_pretrainer import MLM_LOGITS

POSITION_BUCKETS = 8
_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Bucket:
    """Masked-LM accuracy over one group of masked tokens.

    Attributes:
      label: what the group is, e.g. "11-100" (frequency ranks) or "16-31" (positions).
      masked: masked tokens in the group (sum of masked_lm_weights).
      correct: of which the model's top prediction was the original token (weighted).
    """

    label: str
    masked: float
    correct: float

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.masked if self.masked else None


@dataclasses.dataclass(frozen=True)
class EvalResult:
    """What one model scored on one split.

    Attributes:
      metrics: the Task's metrics by name (e.g. masked_lm_accuracy).
      examples: records evaluated.
      masked_tokens: masked positions evaluated (sum of masked_lm_weights).
      by_frequency: accuracy by frequency-rank decade (see the module docstring).
      by_position: accuracy by position range.
      token_counts: occurrences of each vocabulary id in the evaluated text.
    """

    metrics: dict[str, float]
    examples: int
    masked_tokens: float
    by_frequency: tuple[Bucket, ...]
    by_position: tuple[Bucket, ...]
    token_counts: np.ndarray = dataclasses.field(repr=False, compare=False)


class _RecordingModel:
    """Calls the model and keeps its last outputs, so one forward pass serves both the
    Task's `validation_step` and the breakdown (whatever that step does inside)."""

    def __init__(self, model):
        self.model = model
        self.outputs = None

    @property
    def losses(self):
        return self.model.losses

    def __call__(self, inputs, training=None):
        self.outputs = self.model(inputs, training=training)
        return self.outputs


class _Breakdown(tf.Module):
    """Per-token and per-position sums, accumulated in the graph batch by batch."""

    def __init__(self, vocab_size: int, seq_length: int):
        super().__init__(name="breakdown")
        zeros = tf.zeros
        self.token_count = tf.Variable(zeros([vocab_size], tf.float64), trainable=False)
        self.target_total = tf.Variable(zeros([vocab_size], tf.float64), trainable=False)
        self.target_correct = tf.Variable(zeros([vocab_size], tf.float64), trainable=False)
        self.position_total = tf.Variable(zeros([seq_length], tf.float64), trainable=False)
        self.position_correct = tf.Variable(zeros([seq_length], tf.float64), trainable=False)
        self._vocab_size = vocab_size
        self._seq_length = seq_length

    def update(self, inputs, outputs) -> None:
        ids = tf.cast(inputs[features.MASKED_LM_IDS], tf.int32)
        positions = tf.cast(inputs[features.MASKED_LM_POSITIONS], tf.int32)
        weights = tf.cast(inputs[features.MASKED_LM_WEIGHTS], tf.float64)
        predicted = tf.argmax(outputs[MLM_LOGITS], axis=-1, output_type=tf.int32)
        correct = tf.cast(predicted == ids, tf.float64) * weights
        word_ids = tf.cast(inputs[bert.INPUT_WORD_IDS], tf.int32)
        real = tf.cast(inputs[bert.INPUT_MASK], tf.float64)
        at_masked = tf.gather(word_ids, positions, batch_dims=1)

        def count(values, w, size):
            return tf.math.unsorted_segment_sum(tf.reshape(w, [-1]), tf.reshape(values, [-1]), size)

        v, s = self._vocab_size, self._seq_length
        # The original text: every real token, with masked positions restored.
        self.token_count.assign_add(
            count(word_ids, real, v) - count(at_masked, weights, v) + count(ids, weights, v)
        )
        self.target_total.assign_add(count(ids, weights, v))
        self.target_correct.assign_add(count(ids, correct, v))
        self.position_total.assign_add(count(positions, weights, s))
        self.position_correct.assign_add(count(positions, correct, s))

    def numpy(self) -> dict[str, np.ndarray]:
        """The sums so far, by attribute name."""
        names = ("token_count", "target_total", "target_correct")
        names += ("position_total", "position_correct")
        return {name: getattr(self, name).numpy() for name in names}


def frequency_buckets(
    token_counts: np.ndarray, target_total: np.ndarray, target_correct: np.ndarray
) -> tuple[Bucket, ...]:
    """Groups targets by their token's frequency rank decade (rank 1 = most frequent)."""
    order = np.lexsort((np.arange(len(token_counts)), -token_counts))  # ties: lower id first
    ranks = np.empty(len(token_counts), np.int64)
    ranks[order] = np.arange(1, len(token_counts) + 1)
    buckets = []
    low, high = 1, 10
    while low <= len(token_counts):
        in_bucket = (ranks >= low) & (ranks <= high)
        masked = float(target_total[in_bucket].sum())
        if masked:
            label = f"{low}-{min(high, len(token_counts))}"
            buckets.append(Bucket(label, masked, float(target_correct[in_bucket].sum())))
        low, high = high + 1, high * 10
    return tuple(buckets)


def position_buckets(total: np.ndarray, correct: np.ndarray) -> tuple[Bucket, ...]:
    """Groups targets by position into `POSITION_BUCKETS` equal ranges of the sequence."""
    width = math.ceil(len(total) / POSITION_BUCKETS)
    buckets = []
    for low in range(0, len(total), width):
        high = min(low + width, len(total)) - 1
        buckets.append(
            Bucket(
                f"{low}-{high}",
                float(total[low : high + 1].sum()),
                float(correct[low : high + 1].sum()),
            )
        )
    return tuple(buckets)


def evaluate(
    task, model, data: DataConfig, *, max_examples: int = 0, log_every: int = 100
) -> EvalResult:
    """Evaluates `model` on the records of `data` with `task`'s metrics.

    Args:
      task: the Task the model was trained with (its `build_inputs`, `build_metrics`,
        `validation_step`).
      model: the model (a `BertPretrainer`).
      data: the split to read (read once, in order, nothing dropped).
      max_examples: evaluate only the first N records (0 = all).
      log_every: log progress every this many batches.

    Raises:
      BertpipeError: no file matches, or the records do not fit the model's schema.
    """
    data = dataclasses.replace(
        data,
        is_training=False,
        drop_remainder=False,
        cache=False,
        examples_consume=max_examples or None,
    )
    dataset = task.build_inputs(data)
    metrics = task.build_metrics(training=False)
    breakdown = _Breakdown(task.config.model.vocab_size, data.seq_length)
    recorder = _RecordingModel(model)

    @tf.function(reduce_retracing=True)
    def step(inputs):
        task.validation_step(inputs, recorder, metrics)
        breakdown.update(inputs, recorder.outputs)
        return tf.shape(inputs[features.MASKED_LM_IDS])[0]

    examples = 0
    with pretrain_dataloader.reraise_record_errors():
        for batches, inputs in enumerate(dataset, start=1):
            examples += int(step(inputs))
            if batches % log_every == 0:
                _log.info("evaluated %d examples", examples)
    b = breakdown.numpy()
    return EvalResult(
        metrics={m.name: float(m.result().numpy()) for m in metrics},
        examples=examples,
        masked_tokens=float(b["target_total"].sum()),
        by_frequency=frequency_buckets(b["token_count"], b["target_total"], b["target_correct"]),
        by_position=position_buckets(b["position_total"], b["position_correct"]),
        token_counts=b["token_count"],
    )
