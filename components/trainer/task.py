"""The `Task` abstraction: everything model-specific, behind hooks a generic loop calls.

A Task owns its inputs, model, losses, metrics and one training/validation/inference
step, so one training loop, one TFX `run_fn` and one evaluator serve every task on CPU,
GPU and TPU. It follows TF Model Garden's `official/core` `Task` without its faults: every
subclass keeps these exact signatures, the per-replica loss is scaled by the number of
replicas before the gradients, and there is no test-only input branch.

Where each hook runs:
  host, once, in Python: `__init__`, `check_vocabulary` (before anything is built or
    written), `build_model` (inside `strategy.scope()`),
    `initialize`, `build_metrics` (inside `strategy.scope()`), and `build_inputs` (once
    per input pipeline, from `strategy.distribute_datasets_from_function`; the `tf.data`
    pipeline itself runs on the host CPUs);
  device, traced into a `tf.function` and run per replica by `strategy.run`:
    `train_step`, `validation_step`, `inference_step`, and the `build_losses` and
    `process_metrics` they call.

The loop's side, for one replica:

    with strategy.scope():
        model = task.build_model(); task.initialize(model)
        optimizer = ...; metrics = task.build_metrics(training=True)
    dataset = strategy.distribute_datasets_from_function(
        lambda ctx: task.build_inputs(task.config.train_data, ctx))
    @tf.function
    def steps(iterator, n):
        for _ in tf.range(n):
            logs = strategy.run(task.train_step,
                                args=(next(iterator), model, optimizer, metrics))
        return strategy.reduce("MEAN", logs[task.loss], axis=None)

Models and metrics are `tf_keras` (Keras 2) objects; see `models/bert.py` for why.
"""

from __future__ import annotations

import abc
import logging

import tensorflow as tf
import tf_keras

from components.errors import BertpipeError
from components.trainer.configs import DataConfig, TaskConfig

_log = logging.getLogger(__name__)


class Task(abc.ABC):
    """A single-replica view of training and evaluating one model on one problem.

    Args:
      config: the task's config (a `TaskConfig` subclass registered for this Task).
    """

    # Key of the loss in the logs returned by `train_step` and `validation_step`.
    loss = "loss"

    def __init__(self, config: TaskConfig):
        self._config = config

    @property
    def config(self) -> TaskConfig:
        return self._config

    def check_vocabulary(self, vocab_path: str) -> None:
        """Host, before anything is built or written. Fails unless `config.init_checkpoint`
        was trained with `vocab_path`, the vocabulary the training examples were written
        with (`components/convert/sources.py:check_vocabulary`); `initialize` checks only
        the sizes. A checkpoint that ships no vocabulary (a Model Garden checkpoint, a
        training checkpoint) is not checked, and the log says so.

        Raises:
          BertpipeError: the vocabularies differ (both files, how many ids differ, the
            first difference).
        """
        if not self._config.init_checkpoint:
            return
        from components.convert import sources

        _log.info("%s", sources.check_vocabulary(self._config.init_checkpoint, vocab_path))

    def initialize(self, model: tf_keras.Model) -> None:
        """Host. Warm-starts `model` from `config.init_checkpoint`, if one is set.

        Call it only when the run has no checkpoint of its own (a resumed run restores
        its own). The checkpoint is a `tf.train.Checkpoint` holding the whole model as
        `model` (e.g. another run's training checkpoint) or some of the model's
        `checkpoint_items` (e.g. only the `encoder`); exactly the parts present are
        restored, and each must match. It may also be a published BERT (a Hugging Face
        directory, a Model Garden or google-research/bert checkpoint) or a bertpipe
        export: `components/convert/sources.py` converts it, after checking that its
        architecture matches the model's.

        Raises:
          BertpipeError: the checkpoint is missing or holds none of the items.
        """
        path = self._config.init_checkpoint
        if not path:
            return
        from components.convert import sources

        if sources.detect(path) is not None:  # A published BERT or a bertpipe export.
            sources.initialize(model, path)
            return
        if tf.io.gfile.isdir(path):
            path = tf.train.latest_checkpoint(path) or path
        try:
            keys = {name.split("/", 1)[0] for name, _ in tf.train.list_variables(path)}
        except (tf.errors.NotFoundError, ValueError):
            raise BertpipeError(
                f"init_checkpoint {self._config.init_checkpoint!r} is not a readable "
                f"checkpoint (give a checkpoint prefix or a directory holding one)."
            ) from None
        items = {"model": model, **getattr(model, "checkpoint_items", {})}
        present = {name: item for name, item in items.items() if name in keys}
        if not present:
            raise BertpipeError(
                f"init_checkpoint {path!r} holds none of the model's parts {sorted(items)}; "
                f"it holds {sorted(keys)}."
            )
        tf.train.Checkpoint(**present).read(path).expect_partial().assert_existing_objects_matched()
        _log.info("initialized %s from %s", sorted(present), path)

    @abc.abstractmethod
    def build_model(self) -> tf_keras.Model:
        """Host, inside `strategy.scope()`. A new model with all its variables created."""

    @abc.abstractmethod
    def build_inputs(
        self, params: DataConfig, input_context: tf.distribute.InputContext | None = None
    ) -> tf.data.Dataset:
        """Host, once per input pipeline. The batched dataset of one split.

        Args:
          params: the split's data config (`config.train_data` or `validation_data`).
          input_context: from `strategy.distribute_datasets_from_function`; sets the
            shard and the per-replica batch size. None: one pipeline, global batch.
        """

    @abc.abstractmethod
    def build_losses(self, labels, model_outputs, aux_losses=None) -> tf.Tensor:
        """Device. The scalar float32 loss of one replica's batch (not replica-scaled).

        Args:
          labels: the batch (a dict holding the label tensors).
          model_outputs: what the model returned for the batch.
          aux_losses: extra losses to add (e.g. `model.losses`, regularizers).
        """

    def build_metrics(self, training: bool = True) -> list[tf_keras.metrics.Metric]:
        """Host, inside `strategy.scope()`. New metric objects, read by `metric.name`.

        Args:
          training: metrics for training (True) or for evaluation (False).
        """
        del training
        return []

    def process_metrics(self, metrics, labels, model_outputs) -> None:
        """Device. Updates `metrics` (from `build_metrics`) with one batch."""
        del metrics, labels, model_outputs

    def train_step(self, inputs, model, optimizer, metrics=None) -> dict[str, tf.Tensor]:
        """Device. One forward and backward pass and optimizer update on one replica.

        The loss is divided by the number of replicas in sync before the gradients,
        because the optimizer sums gradients over replicas: the update is then that of the
        mean loss, whatever the replica count. Works inside `strategy.run` in a
        `tf.function` loop; supports a `LossScaleOptimizer` (float16 mixed precision).

        Args:
          inputs: one replica's batch (features and labels).
          model: the model from `build_model`.
          optimizer: a `tf_keras` optimizer.
          metrics: metrics from `build_metrics(training=True)`, updated with this batch.

        Returns:
          `{task.loss: the replica's unscaled loss}`.
        """
        with tf.GradientTape() as tape:
            outputs = model(inputs, training=True)
            loss = self.build_losses(inputs, outputs, aux_losses=model.losses)
            scaled_loss = loss / tf.distribute.get_strategy().num_replicas_in_sync
            if isinstance(optimizer, tf_keras.mixed_precision.LossScaleOptimizer):
                scaled_loss = optimizer.get_scaled_loss(scaled_loss)
        variables = model.trainable_variables
        grads = tape.gradient(scaled_loss, variables)
        if isinstance(optimizer, tf_keras.mixed_precision.LossScaleOptimizer):
            grads = optimizer.get_unscaled_gradients(grads)
        optimizer.apply_gradients(zip(grads, variables))
        if metrics:
            self.process_metrics(metrics, inputs, outputs)
        return {self.loss: loss}

    def validation_step(self, inputs, model, metrics=None) -> dict[str, tf.Tensor]:
        """Device. Evaluates one replica's batch and updates `metrics`.

        Args:
          inputs: one replica's batch (features and labels).
          model: the model.
          metrics: metrics from `build_metrics(training=False)`.

        Returns:
          `{task.loss: the batch's loss}`.
        """
        outputs = self.inference_step(inputs, model)
        loss = self.build_losses(inputs, outputs, aux_losses=model.losses)
        if metrics:
            self.process_metrics(metrics, inputs, outputs)
        return {self.loss: loss}

    def inference_step(self, inputs, model):
        """Device. The model's outputs for a batch, in inference mode (no dropout)."""
        return model(inputs, training=False)
