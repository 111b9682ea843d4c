"""TensorBoard summaries of a training run: one event directory per phase.

`<summary_dir>/train/` holds the training scalars (loss, learning_rate,
examples_per_second and each task metric), `<summary_dir>/validation/` the validation
metrics, both against the global step, so TensorBoard overlays train and validation
curves of the same metric. With no directory (e.g. on non-chief workers) nothing is
written.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

import tensorflow as tf


class Summaries:
    """Writes scalar summaries per phase under `directory` (None = write nothing)."""

    def __init__(self, directory: str | None):
        self._directory = directory
        self._writers: dict[str, tf.summary.SummaryWriter] = {}

    def write(self, phase: str, scalars: Mapping[str, float], step: int) -> None:
        """Writes `scalars` for `phase` ('train', 'validation') at `step`."""
        if self._directory is None:
            return
        if phase not in self._writers:
            self._writers[phase] = tf.summary.create_file_writer(
                posixpath.join(self._directory, phase)
            )
        with self._writers[phase].as_default(step=step):
            for name, value in scalars.items():
                tf.summary.scalar(name, value)

    def flush(self) -> None:
        for writer in self._writers.values():
            writer.flush()
