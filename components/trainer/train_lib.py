"""The training loop: a Task, an experiment and a strategy -> a trained, checkpointed model.

`Trainer` builds the task's model, AdamW optimizer and metrics inside `strategy.scope()`,
restores the latest checkpoint (or warm-starts through `task.initialize` when there is
none), then runs device loops: one `tf.function` call runs up to `steps_per_loop` steps of
`strategy.run(task.train_step)` over `strategy.distribute_datasets_from_function(
task.build_inputs)`, shortened so that it ends exactly on the next summary, validation or
checkpoint step and on `train_steps` (a run never goes past it). Between loops, on the
host: TensorBoard summaries (loss, learning rate, each task metric, examples/s), a
progress line logged under `components.trainer.train_lib`, periodic validation through
`task.validation_step`, and checkpoints (`checkpoints.py`).

    experiment = experiments.get_experiment("bert/tiny")  # + input paths, vocab size
    result = train_lib.run_experiment(experiment, checkpoint_dir=..., summary_dir=...)
    result.step, result.train_logs, result.validation_logs, result.trainer.model
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time

import tensorflow as tf
import tf_keras

from components.errors import BertpipeError
from components.trainer import distribute, optimization, preemption, registry
from components.trainer.checkpoints import CheckpointSaver
from components.trainer.experiment import ExperimentConfig, TrainerConfig
from components.trainer.pretrain_dataloader import reraise_record_errors
from components.trainer.summaries import Summaries

_log = logging.getLogger(__name__)

# "The whole split" for the validation loop's step bound (an int32 loop counter).
_ALL_STEPS = 2**31 - 1


@dataclasses.dataclass
class TrainResult:
    """What a run ended with.

    Attributes:
      trainer: the `Trainer` (its `task`, `model`, `optimizer`, `strategy`).
      step: the global step reached (= `train_steps`).
      start_step: the step the run started (or resumed) from.
      train_logs: the last summary window: loss, learning_rate, examples_per_second and
        each task metric.
      validation_logs: the final validation's task metrics (empty without validation data
        or when the validation split is empty: see `validation_skipped`).
      validation_skipped: why the final validation did not run, when it had data paths.
      loss_history: (step, mean training loss of the window) for every summary window.
    """

    trainer: Trainer
    step: int
    start_step: int
    train_logs: dict[str, float]
    validation_logs: dict[str, float]
    loss_history: list[tuple[int, float]]
    validation_skipped: str | None = None


class Trainer:
    """Trains one experiment's task under one strategy, with checkpoints and summaries.

    Build and use it under the experiment's mixed-precision policy (`run_experiment` does).

    Args:
      experiment: the experiment (input paths and vocabulary size already set).
      strategy: the distribution strategy (`distribute.build_strategy`).
      checkpoint_dir: where checkpoints are saved and restored from.
      summary_dir: TensorBoard logs (`train/`, `validation/`); None = none.
    """

    def __init__(
        self,
        experiment: ExperimentConfig,
        strategy: tf.distribute.Strategy,
        checkpoint_dir: str,
        summary_dir: str | None = None,
    ):
        self.experiment = experiment
        self.strategy = strategy
        self.task = registry.get_task(experiment.task)
        trainer = experiment.trainer
        self._check_tpu_inputs()
        self.schedule = optimization.learning_rate_schedule(trainer.optimizer, trainer.train_steps)
        loss_scale = tf_keras.mixed_precision.global_policy().name == "mixed_float16"
        with strategy.scope():
            self.model = self.task.build_model()
            self.optimizer = optimization.build_optimizer(
                trainer.optimizer,
                self.schedule,
                loss_scale=loss_scale,
                jit_compile=not distribute.is_tpu(strategy),
            )
            # Slots now, so that a checkpoint restores them at once (and is checked).
            inner = getattr(self.optimizer, "inner_optimizer", self.optimizer)
            inner.build(self.model.trainable_variables)
            self.train_metrics = self.task.build_metrics(training=True)
            self.validation_metrics = self.task.build_metrics(training=False)
            checkpoint = tf.train.Checkpoint(model=self.model, optimizer=self.optimizer)
        self.checkpoints = CheckpointSaver(
            checkpoint, checkpoint_dir, self.optimizer.iterations, strategy, trainer.max_to_keep
        )
        chief = distribute.is_chief(strategy)
        self.summaries = Summaries(summary_dir if chief else None)
        self.validation_skipped: str | None = None
        self._train_loop = self._make_train_loop()
        self._validation_loop = self._make_validation_loop()

    @property
    def step(self) -> int:
        """The global step (the optimizer's iterations)."""
        return int(self.optimizer.iterations.numpy())

    @property
    def has_validation_data(self) -> bool:
        return bool(self.task.config.validation_data.input_path)

    def _check_tpu_inputs(self) -> None:
        validation = self.experiment.task.validation_data
        if distribute.is_tpu(self.strategy) and not validation.drop_remainder:
            raise BertpipeError(
                "TPUs need batches of one static shape: set "
                "task.validation_data.drop_remainder=true (the last partial batch of the "
                "validation split is then not validated)."
            )

    def _distribute(self, params) -> tf.distribute.DistributedDataset:
        return self.strategy.distribute_datasets_from_function(
            lambda context: self.task.build_inputs(params, context)
        )

    def _make_train_loop(self):
        strategy, task, model = self.strategy, self.task, self.model
        optimizer, metrics = self.optimizer, self.train_metrics

        def replica_step(inputs):
            return task.train_step(inputs, model, optimizer, metrics)[task.loss]

        if self.experiment.trainer.jit_compile:
            replica_step = tf.function(replica_step, jit_compile=True)

        @tf.function
        def train_loop(iterator, num_steps):
            total = tf.constant(0.0)
            for _ in tf.range(num_steps):
                loss = strategy.run(replica_step, args=(next(iterator),))
                total += strategy.reduce("MEAN", loss, axis=None)
            return total / tf.cast(num_steps, tf.float32)

        return train_loop

    def _make_validation_loop(self):
        strategy, task, model = self.strategy, self.task, self.model
        metrics = self.validation_metrics

        def replica_step(inputs):
            task.validation_step(inputs, model, metrics)

        @tf.function
        def validation_loop(iterator, num_steps):
            done = tf.constant(0)
            for _ in tf.range(num_steps):
                # Optional: the split may end (also unevenly across workers) before.
                batch = iterator.get_next_as_optional()
                if not batch.has_value():
                    break
                strategy.run(replica_step, args=(batch.get_value(),))
                done += 1
            return done

        return validation_loop

    def evaluate(self, num_steps: int | None = None) -> dict[str, float]:
        """Validates on `num_steps` batches (None = the whole split); task metrics by name.

        An empty validation split gives no metrics (`{}`) and sets `validation_skipped`.
        """
        for metric in self.validation_metrics:
            metric.reset_state()
        data = self.task.config.validation_data
        with reraise_record_errors(data):
            iterator = iter(self._distribute(data))
            steps = int(self._validation_loop(iterator, tf.constant(num_steps or _ALL_STEPS)))
        if steps == 0:
            # Metrics of no batches read 0.0: a perfect-looking model. Say so instead.
            self.validation_skipped = (
                f"the validation split ({', '.join(data.input_path)}) holds no records"
            )
            _log.warning("validation skipped: %s", self.validation_skipped)
            return {}
        logs = {m.name: float(m.result()) for m in self.validation_metrics}
        _log.info("validation at step %d (%d batches): %s", self.step, steps, _format(logs))
        self.summaries.write("validation", logs, self.step)
        return logs

    def train_iterator(self, initial_step: int = 0):
        """A new iterator over the distributed training split, its first batch at `initial_step`.

        The step keys the draws of dynamic masking, so a resumed run masks its batches as
        an uninterrupted run would.
        """
        data = dataclasses.replace(self.task.config.train_data, initial_step=initial_step)
        if initial_step and data.seed is None:
            _log.info(
                "task.train_data.seed is unset: the resumed run reads its data in a new "
                "random order (set a seed to continue the interrupted run's order)"
            )
        return iter(self._distribute(data))

    def run_steps(self, iterator, num_steps: int) -> float:
        """Runs `num_steps` training steps in one device loop; their mean loss (host).

        What `train` does between host-side work; benchmarks time it directly.
        """
        with reraise_record_errors(self.task.config.train_data):
            return float(self._train_loop(iterator, tf.constant(num_steps)))

    def train(self) -> TrainResult:
        """Restores or initialises, trains to `train_steps`, checkpoints, validates.

        Raises:
          preemption.Preempted: SIGTERM came (to any worker); a checkpoint was saved at
            the step all workers reached, and the process should exit (status 143).
        """
        trainer = self.experiment.trainer
        start = self.checkpoints.restore_or_initialize(lambda: self.task.initialize(self.model))
        if start > trainer.train_steps:
            raise BertpipeError(
                f"the checkpoint in {self.checkpoints.directory} is at step {start}, past "
                f"train_steps={trainer.train_steps}; raise train_steps or use a new directory."
            )
        self._history: list[tuple[int, float]] = []
        self._train_logs: dict[str, float] = {}
        if start < trainer.train_steps:
            with preemption.PreemptionWatcher(self.strategy) as watcher:
                self._train_from(start, watcher)
            self.checkpoints.save()
        validation_logs = (
            self.evaluate(trainer.validation_steps) if self.has_validation_data else {}
        )
        self.summaries.flush()
        return TrainResult(
            self,
            self.step,
            start,
            self._train_logs,
            validation_logs,
            self._history,
            self.validation_skipped,
        )

    def _train_from(self, start: int, watcher: preemption.PreemptionWatcher) -> None:
        """Device loops from `start` to `train_steps`, with the host work between them."""
        trainer = self.experiment.trainer
        window = _Window(self.experiment.task.train_data.global_batch_size)
        iterator = self.train_iterator(start)
        step = start
        while step < trainer.train_steps:
            num_steps = next_loop_length(step, trainer, self._validates_periodically)
            started = time.perf_counter()
            loss = self.run_steps(iterator, num_steps)
            window.add(num_steps, loss, time.perf_counter() - started)
            step = self.step
            if not math.isfinite(loss):
                raise BertpipeError(f"training diverged: loss is {loss} at step {step}.")
            if step % trainer.summary_interval == 0 or step == trainer.train_steps:
                self._train_logs = self._summarize(step, window)
                self._history.append((step, self._train_logs["loss"]))
                window = _Window(window.batch_size)
            if step < trainer.train_steps and watcher.agreed():
                self.summaries.flush()
                path = self.checkpoints.save()
                _log.warning("SIGTERM: checkpoint at step %d saved; stopping", step)
                raise preemption.Preempted(step, path)
            if step % trainer.checkpoint_interval == 0 and step < trainer.train_steps:
                self.checkpoints.save()
            if self._validation_due(step):
                self.evaluate(trainer.validation_steps)

    @property
    def _validates_periodically(self) -> bool:
        return bool(self.experiment.trainer.validation_interval) and self.has_validation_data

    def _validation_due(self, step: int) -> bool:
        interval = self.experiment.trainer.validation_interval
        end = self.experiment.trainer.train_steps
        return self._validates_periodically and step % interval == 0 and step < end

    def _summarize(self, step: int, window: _Window) -> dict[str, float]:
        logs = {
            "loss": window.mean_loss,
            "learning_rate": float(self.schedule(step)),
            "examples_per_second": window.examples_per_second,
            **{m.name: float(m.result()) for m in self.train_metrics},
        }
        for metric in self.train_metrics:
            metric.reset_state()
        total = self.experiment.trainer.train_steps
        _log.info(
            "step %d/%d  loss %.4f  lr %.3g  %.1f examples/s",
            step,
            total,
            logs["loss"],
            logs["learning_rate"],
            logs["examples_per_second"],
        )
        self.summaries.write("train", logs, step)
        return logs


def next_loop_length(step: int, trainer: TrainerConfig, validate: bool) -> int:
    """Steps of the device loop starting at `step`: at most `steps_per_loop`, ending on the
    next checkpoint/summary(/validation) boundary or on `train_steps`, whichever is first.
    """
    stops = [trainer.train_steps, step + trainer.steps_per_loop]
    intervals = [trainer.checkpoint_interval, trainer.summary_interval]
    if validate:
        intervals.append(trainer.validation_interval)
    stops += [(step // n + 1) * n for n in intervals]
    return min(stops) - step


class _Window:
    """Training steps since the last summary: their mean loss and device-loop time.

    Only the time inside the training loops counts (checkpoints and validation between
    loops do not), so examples/s is the training throughput; the first window includes
    the `tf.function` trace.
    """

    def __init__(self, batch_size: int):
        self.batch_size = batch_size
        self.steps = 0
        self.loss_sum = 0.0
        self.seconds = 0.0

    def add(self, steps: int, mean_loss: float, seconds: float) -> None:
        self.steps += steps
        self.loss_sum += steps * mean_loss
        self.seconds += seconds

    @property
    def mean_loss(self) -> float:
        return self.loss_sum / max(self.steps, 1)

    @property
    def examples_per_second(self) -> float:
        return self.steps * self.batch_size / self.seconds if self.seconds > 0 else 0.0


def _format(logs: dict[str, float]) -> str:
    return "  ".join(f"{name} {value:.4f}" for name, value in sorted(logs.items()))


def run_experiment(
    experiment: ExperimentConfig,
    *,
    checkpoint_dir: str,
    summary_dir: str | None = None,
    strategy: tf.distribute.Strategy | None = None,
) -> TrainResult:
    """Trains `experiment` to its `train_steps`, resuming from `checkpoint_dir` if possible.

    Args:
      experiment: the experiment, with input paths and vocabulary size set.
      checkpoint_dir: the run's checkpoints (restored on start, saved while training).
      summary_dir: TensorBoard logs; None = none.
      strategy: a strategy to use; None = `distribute.build_strategy(experiment.runtime)`.

    Raises:
      BertpipeError: a bad config or input, a checkpoint of another model, divergence.
    """
    runtime = experiment.runtime
    if strategy is None:
        strategy = distribute.build_strategy(runtime)
    if runtime.seed is not None:
        tf_keras.utils.set_random_seed(runtime.seed)
    policy = distribute.precision_policy(runtime, strategy)
    with distribute.global_policy(policy):
        return Trainer(experiment, strategy, checkpoint_dir, summary_dir).train()
