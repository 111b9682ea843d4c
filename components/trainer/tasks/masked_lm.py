"""`MaskedLMTask`: BERT pretraining with masked-LM and (optionally) next-sentence losses.

Losses, per replica batch:
  masked-LM: sum(w * CE(masked_lm_ids, mlm_logits)) / sum(w), w = masked_lm_weights
    (padding positions weigh 0);
  next-sentence: mean CE(next_sentence_labels, next_sentence_logits);
  total: their sum (+ any auxiliary losses).

Metrics (names are the contract with the evaluator and the summaries), each over every
batch seen since the last reset:
  masked_lm_accuracy      sum(w * [argmax == id]) / sum(w)
  masked_lm_loss          sum(w * CE) / sum(w)
  next_sentence_accuracy  fraction of examples whose argmax is the label
  next_sentence_loss      mean CE over examples
  total_loss              masked_lm_loss + next_sentence_loss (the training objective,
                          at the data level rather than averaged per batch)
The next-sentence entries exist only with `train_data.use_next_sentence_label`.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras

from components import features
from components.trainer.configs import DataConfig, MaskedLMConfig
from components.trainer.models.bert_pretrainer import (
    MLM_LOGITS,
    NEXT_SENTENCE_LOGITS,
    BertPretrainer,
    build_pretrainer,
)
from components.trainer.pretrain_dataloader import BertPretrainDataLoader
from components.trainer.task import Task
from components.trainer.tasks.metric_names import (
    MASKED_LM_ACCURACY,
    MASKED_LM_LOSS,
    NEXT_SENTENCE_ACCURACY,
    NEXT_SENTENCE_LOSS,
    TOTAL_LOSS,
)


@tf.function(jit_compile=True)
def _vocabulary_cross_entropy(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Sparse softmax cross-entropy over the vocabulary, compiled with XLA.

    The [batch, max_predictions, vocab] softmax is the largest elementwise work of a
    training step, and XLA's fused kernel is faster than TensorFlow's on CPU (figures in
    benchmarks/README.md, from `benchmarks/trainer.py`); on TPUs everything is compiled
    anyway.
    """
    # As [positions, vocab]: with 2-D logits TensorFlow adds no runtime shape assertion
    # (which XLA would drop with a warning on every compilation).
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.reshape(labels, [-1]), logits=tf.reshape(logits, [-1, tf.shape(logits)[-1]])
    )
    return tf.reshape(losses, tf.shape(labels))


class TotalLoss(tf_keras.metrics.Metric):
    """masked-LM loss (weighted mean over masked tokens) + next-sentence loss (mean).

    Keeps the four sums separately so the result is exactly the sum of the
    `masked_lm_loss` and `next_sentence_loss` metrics over the same batches.
    """

    def __init__(self, name: str = TOTAL_LOSS, **kwargs):
        super().__init__(name=name, **kwargs)
        self.mlm_sum = self.add_weight("mlm_sum", initializer="zeros")
        self.mlm_weight = self.add_weight("mlm_weight", initializer="zeros")
        self.nsp_sum = self.add_weight("nsp_sum", initializer="zeros")
        self.nsp_count = self.add_weight("nsp_count", initializer="zeros")

    def update_state(self, mlm_losses, mlm_weights, nsp_losses=None):
        """Adds per-position masked-LM losses with weights, and per-example NSP losses."""
        self.mlm_sum.assign_add(tf.reduce_sum(mlm_losses * mlm_weights))
        self.mlm_weight.assign_add(tf.reduce_sum(mlm_weights))
        if nsp_losses is not None:
            self.nsp_sum.assign_add(tf.reduce_sum(nsp_losses))
            self.nsp_count.assign_add(tf.cast(tf.size(nsp_losses), tf.float32))

    def result(self):
        return tf.math.divide_no_nan(self.mlm_sum, self.mlm_weight) + tf.math.divide_no_nan(
            self.nsp_sum, self.nsp_count
        )


class MaskedLMTask(Task):
    """BERT masked-LM + next-sentence pretraining over `components/features.py` records.

    Args:
      config: a `MaskedLMConfig`.
    """

    def __init__(self, config: MaskedLMConfig):
        super().__init__(config)
        self._next_sentence = config.train_data.use_next_sentence_label
        # Per-position losses by (logits, ids) while tracing: see `_masked_lm_losses`.
        self._traced_losses: dict = {}

    def build_model(self) -> BertPretrainer:
        """Host, inside `strategy.scope()`. The `BertPretrainer`, variables created."""
        data = self.config.train_data
        return build_pretrainer(
            self.config.model,
            next_sentence=self._next_sentence,
            seq_length=data.seq_length,
            max_predictions_per_seq=data.max_predictions_per_seq,
        )

    def build_inputs(
        self, params: DataConfig, input_context: tf.distribute.InputContext | None = None
    ) -> tf.data.Dataset:
        """Host. Batches of model inputs and labels from `params`' TFRecords."""
        return BertPretrainDataLoader(params).load(input_context)

    def build_losses(self, labels, model_outputs, aux_losses=None) -> tf.Tensor:
        """Device. masked-LM loss + next-sentence loss (+ `aux_losses`), float32 scalar."""
        mlm_losses, weights = self._masked_lm_losses(labels, model_outputs)
        loss = tf.math.divide_no_nan(tf.reduce_sum(mlm_losses * weights), tf.reduce_sum(weights))
        if self._next_sentence:
            loss += tf.reduce_mean(self._next_sentence_losses(labels, model_outputs))
        if aux_losses:
            loss += tf.add_n([tf.cast(aux, tf.float32) for aux in aux_losses])
        return loss

    def build_metrics(self, training: bool = True) -> list[tf_keras.metrics.Metric]:
        """Host, inside `strategy.scope()`. The metrics listed in the module docstring."""
        del training  # The same metrics for training and evaluation.
        metrics = [
            tf_keras.metrics.SparseCategoricalAccuracy(name=MASKED_LM_ACCURACY),
            tf_keras.metrics.Mean(name=MASKED_LM_LOSS),
        ]
        if self._next_sentence:
            metrics += [
                tf_keras.metrics.SparseCategoricalAccuracy(name=NEXT_SENTENCE_ACCURACY),
                tf_keras.metrics.Mean(name=NEXT_SENTENCE_LOSS),
            ]
        return [*metrics, TotalLoss(name=TOTAL_LOSS)]

    def process_metrics(self, metrics, labels, model_outputs) -> None:
        """Device. Updates whichever of this task's metrics are in `metrics`."""
        by_name = {m.name: m for m in metrics}
        mlm_losses, weights = self._masked_lm_losses(labels, model_outputs)
        if MASKED_LM_ACCURACY in by_name:
            by_name[MASKED_LM_ACCURACY].update_state(
                labels[features.MASKED_LM_IDS],
                tf.cast(model_outputs[MLM_LOGITS], tf.float32),
                sample_weight=weights,
            )
        if MASKED_LM_LOSS in by_name:
            by_name[MASKED_LM_LOSS].update_state(mlm_losses, sample_weight=weights)
        nsp_losses = None
        if self._next_sentence:
            nsp_losses = self._next_sentence_losses(labels, model_outputs)
            if NEXT_SENTENCE_ACCURACY in by_name:
                by_name[NEXT_SENTENCE_ACCURACY].update_state(
                    labels[features.NEXT_SENTENCE_LABELS],
                    tf.cast(model_outputs[NEXT_SENTENCE_LOGITS], tf.float32),
                )
            if NEXT_SENTENCE_LOSS in by_name:
                by_name[NEXT_SENTENCE_LOSS].update_state(nsp_losses)
        if TOTAL_LOSS in by_name:
            by_name[TOTAL_LOSS].update_state(mlm_losses, weights, nsp_losses)

    def _masked_lm_losses(self, labels, model_outputs) -> tuple[tf.Tensor, tf.Tensor]:
        """Per-position cross-entropy [batch, max_predictions] and its weights, float32.

        `build_losses` and `process_metrics` both need the vocabulary cross-entropy of
        the same logits. TensorFlow used to merge the two identical ops of a traced step;
        it does not merge two calls of the XLA-compiled function, so the graph-mode result
        is reused here, keyed by the (symbolic) logits and ids tensors. Eager calls are
        not cached (the key would keep a large logits tensor alive).
        """
        logits = model_outputs[MLM_LOGITS]
        ids = labels[features.MASKED_LM_IDS]
        weights = tf.cast(labels[features.MASKED_LM_WEIGHTS], tf.float32)
        if tf.executing_eagerly():
            return _vocabulary_cross_entropy(ids, tf.cast(logits, tf.float32)), weights
        key = (logits.ref(), ids.ref())
        if key not in self._traced_losses:
            if len(self._traced_losses) >= 16:  # Replicas of one trace, at most.
                self._traced_losses.clear()
            self._traced_losses[key] = _vocabulary_cross_entropy(ids, tf.cast(logits, tf.float32))
        return self._traced_losses[key], weights

    @staticmethod
    def _next_sentence_losses(labels, model_outputs) -> tf.Tensor:
        """Per-example next-sentence cross-entropy [batch], float32."""
        return tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.reshape(labels[features.NEXT_SENTENCE_LABELS], [-1]),
            logits=tf.cast(model_outputs[NEXT_SENTENCE_LOGITS], tf.float32),
        )
