"""Preemption: on SIGTERM, checkpoint at the next step boundary all workers agree on, exit.

Spot/preemptible TPU VMs, GKE node drains and Vertex send SIGTERM and give the process a
grace period before SIGKILL. TensorFlow's answer is
`tf.distribute.experimental.PreemptionCheckpointHandler` (tensorflow/python/distribute/
failure_handling/failure_handling.py, TF 2.16): a SIGTERM handler only records the
notice; at the next step boundary every worker learns of it, all save a checkpoint at
the *same* step, and the process exits with a restartable status so that the orchestrator
starts it again and training resumes from that checkpoint.

bertpipe follows that protocol but does not use the class itself, because at TF 2.16 it
does nothing on the machines we target: on a GCE TPU or CPU VM (`detect_platform` ->
GCE_TPU/GCE_CPU) its `save_checkpoint_if_preempted` returns at once; it counts `run()`
calls rather than the global step (and adds a `checkpointed_runs` variable to the
checkpoint); and it restores through the checkpoint manager it is given, which on a
non-chief worker is our private temporary directory. What is kept:

- the SIGTERM handler only sets a flag (no work in a signal handler);
- agreement: at every device-loop boundary every worker contributes its flag to one
  all-reduce (SUM) through the strategy, so all of them see "preempted" after the same
  loop and save the same step. TF agrees through the coordination service's key-value
  store instead (`RUN_TO_CHECKPOINT` + acknowledgements); an all-reduce issued by every
  worker at the same point of a lockstep loop gives the same guarantee with no watcher
  thread, and works the same under the default, mirrored, multi-worker and TPU strategies;
- the exit status: 143, TF's restartable exit code for GCE (`_RESTARTABLE_EXIT_CODE` in
  failure_handling_util.py, used by `gce_exit_fn`), also what a SIGTERM-killed process
  reports, so orchestrators that retry a terminated step retry this one.

Nothing since the signal is lost: the checkpoint is taken after the loop that was running
when the signal came.
"""

from __future__ import annotations

import logging
import signal
import threading

import tensorflow as tf

from components.errors import PREEMPTED_EXIT_CODE, Preempted

__all__ = ["PREEMPTED_EXIT_CODE", "Preempted", "PreemptionWatcher"]
_log = logging.getLogger(__name__)


class PreemptionWatcher:
    """Records SIGTERM while training runs; tells all workers together that it came.

    Use as a context manager around the training loop, in the main thread (where Python
    delivers signals); elsewhere it watches nothing and logs why. Every worker must call
    `agreed()` at the same points of the loop (it is a collective).

    Args:
      strategy: the training's distribution strategy.
    """

    def __init__(self, strategy: tf.distribute.Strategy):
        self._strategy = strategy
        self._received = threading.Event()
        self._previous = None
        self._installed = False
        self._reduce = self._make_reduce()

    def _make_reduce(self):
        strategy = self._strategy

        @tf.function
        def reduce(flag):
            value = strategy.run(lambda f: tf.identity(f), args=(flag,))
            return strategy.reduce("SUM", value, axis=None)

        return reduce

    def __enter__(self) -> PreemptionWatcher:
        if threading.current_thread() is not threading.main_thread():
            _log.warning("training outside the main thread: SIGTERM is not watched")
            return self
        self._previous = signal.signal(signal.SIGTERM, self._on_sigterm)
        self._installed = True
        return self

    def __exit__(self, *exc) -> None:
        if self._installed:
            signal.signal(signal.SIGTERM, self._previous)
            self._installed = False

    def _on_sigterm(self, signum, frame) -> None:
        del signum, frame
        self._received.set()

    @property
    def received(self) -> bool:
        """Whether this process has received SIGTERM (local; not agreed)."""
        return self._received.is_set()

    def agreed(self) -> bool:
        """Whether any worker has received SIGTERM (the same answer on every worker)."""
        flag = tf.constant(1.0 if self._received.is_set() else 0.0)
        return float(self._reduce(flag)) > 0
