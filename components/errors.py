"""The error type for mistakes a user can fix.

Raise `BertpipeError` for bad input (a corrupt file, a config typo, an empty corpus, a
wrong vocabulary): its message names the thing, what was expected, what was received and
how to fix it. The `bertpipe` command prints such an error as one line, with no traceback;
any other exception is a bug in bertpipe and keeps its traceback.
"""


class BertpipeError(ValueError):
    """A user-fixable problem, reported as one line without a traceback."""


PREEMPTED_EXIT_CODE = 143


class Preempted(SystemExit):
    """Training stopped on SIGTERM after saving a checkpoint; exit status 143.

    Not a user mistake: the machine is being taken away (spot/preemptible VM, node drain).
    A `SystemExit`, so that any process running the trainer (the `bertpipe` command, a
    TFX/Kubeflow component container) exits with the restartable status unless it
    handles this on purpose; see `components.trainer.preemption`.

    Attributes:
      step: the global step of the checkpoint saved.
      checkpoint: its path (None on a worker that is not the chief).
    """

    def __init__(self, step: int, checkpoint: str | None):
        super().__init__(PREEMPTED_EXIT_CODE)
        self.step = step
        self.checkpoint = checkpoint

    def __str__(self) -> str:
        where = f" ({self.checkpoint})" if self.checkpoint else ""
        return (
            f"preempted (SIGTERM): checkpoint saved at step {self.step}{where}; start the "
            "same run again to continue from it"
        )
