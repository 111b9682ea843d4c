"""Cross-run resume on Kubeflow/Vertex: where a run's Trainer looks for earlier checkpoints.

Every Kubeflow or Vertex run writes its outputs under a new run directory
(`<root>/<pipeline>/<run id>/...` on KFP, `<root>/<project>/<job>/...` on Vertex), so
checkpoints kept beside the Trainer's outputs are lost to the next run. A multi-day TPU
run that exhausted its retries must not start again from step 0 when resubmitted: the
compiled Trainer therefore keeps its checkpoints in
`<pipeline_root>/checkpoints/<Trainer id>/<fingerprint>`, where the fingerprint
(`components.trainer.run_fn.cross_run_fingerprint`) covers the experiment, the examples'
files and sizes and the vocabulary but not the run directory. A new run of the same
training continues from the newest checkpoint there; other data or settings give another
fingerprint and start at step 0. `training.fresh_start: true` keeps the checkpoints
inside the run (a retried step still resumes; a new run does not).
"""

from __future__ import annotations

import posixpath

from components.trainer import run_fn as run_fn_lib

TRAINER_ID = "Trainer"


def cross_run_checkpoints(pipeline_root: str, training) -> dict[str, str]:
    """The Trainer `custom_config` entry that keys checkpoints by root + fingerprint.

    Args:
      pipeline_root: the pipeline root the run is submitted with (gs://).
      training: the config's `TrainingSection`.

    Returns:
      {"checkpoint_root": ...}, or {} when the config chose a directory or a fresh start.
    """
    if training.checkpoint_dir or training.fresh_start:
        return {}
    root = posixpath.join(pipeline_root.rstrip("/"), "checkpoints", TRAINER_ID)
    return {run_fn_lib.CHECKPOINT_ROOT_KEY: root}
