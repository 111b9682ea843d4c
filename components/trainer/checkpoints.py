"""Training checkpoints that a killed, preempted or retried run continues from.

A `tf.train.Checkpoint(model=..., optimizer=...)` holds every weight and the optimizer's
slots and step (`optimizer.iterations` is the run's global step), saved by a
`tf.train.CheckpointManager` as `ckpt-<step>` in one directory. On start the latest one is
restored (and must match the model: a directory of another experiment fails clearly); the
task's `initialize` (warm start from `init_checkpoint`) runs only when there is none.

Under `MultiWorkerMirroredStrategy` every worker takes part in saving (TensorFlow's
multi-worker rule), but only the chief writes to the shared directory: the others write
to a private temporary directory that they delete again. Every worker restores from the
shared directory.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Callable

import tensorflow as tf

from components.errors import BertpipeError
from components.trainer import distribute

_log = logging.getLogger(__name__)


class CheckpointSaver:
    """Saves and restores one run's checkpoints.

    Args:
      checkpoint: the `tf.train.Checkpoint` (model and optimizer).
      directory: where the run's checkpoints live (local or `gs://`).
      step_counter: the global step variable (`optimizer.iterations`).
      strategy: the distribution strategy (decides who writes).
      max_to_keep: how many checkpoints to keep.
    """

    def __init__(
        self,
        checkpoint: tf.train.Checkpoint,
        directory: str,
        step_counter: tf.Variable,
        strategy: tf.distribute.Strategy,
        max_to_keep: int,
    ):
        self._checkpoint = checkpoint
        self._directory = directory
        self._step = step_counter
        self._chief = distribute.is_chief(strategy)
        if self._chief:
            write_dir = directory
        else:
            task_id = strategy.cluster_resolver.task_id
            write_dir = posixpath.join(directory, f".worker-{task_id}-tmp")
        self._write_dir = write_dir
        self._manager = tf.train.CheckpointManager(
            checkpoint, write_dir, max_to_keep=max_to_keep, step_counter=step_counter
        )

    @property
    def directory(self) -> str:
        return self._directory

    def latest(self) -> str | None:
        """The newest checkpoint in the shared directory, or None."""
        return tf.train.latest_checkpoint(self._directory)

    def restore_or_initialize(self, init_fn: Callable[[], None]) -> int:
        """Restores the latest checkpoint, or calls `init_fn` when there is none.

        Returns:
          The global step the run continues from.

        Raises:
          BertpipeError: the latest checkpoint does not match the model/optimizer.
        """
        latest = self.latest()
        if latest is None:
            init_fn()
            _log.info("no checkpoint in %s: training starts at step 0", self._directory)
            return 0
        try:
            self._checkpoint.restore(latest).assert_existing_objects_matched()
        except (AssertionError, ValueError) as e:
            raise BertpipeError(
                f"checkpoint {latest} does not match this experiment's model or optimizer "
                f"(was it written by another experiment?): {str(e)[:500]}. Use another "
                f"checkpoint directory, or delete that one to start over."
            ) from None
        step = int(self._step.numpy())
        _log.info("restored checkpoint %s: training continues from step %d", latest, step)
        return step

    def save(self) -> str | None:
        """Saves a checkpoint at the current step (every worker must call it).

        Returns:
          The checkpoint path on the chief; None on other workers.
        """
        step = int(self._step.numpy())
        path = self._manager.save(checkpoint_number=step)
        if not self._chief:
            tf.io.gfile.rmtree(self._write_dir)
            return None
        _log.info("saved checkpoint %s", path)
        return path
