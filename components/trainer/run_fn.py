"""`run_fn`: the TFX Trainer's entry point into bertpipe's training loop.

    tfx.components.Trainer(
        run_fn="components.trainer.run_fn.run_fn",
        examples=example_gen.outputs["examples"],
        train_args=tfx.proto.TrainArgs(num_steps=1000),
        eval_args=tfx.proto.EvalArgs(num_steps=None),  # None/0: the whole eval split
        custom_config={"experiment": "bert/tiny", "params": ["trainer.steps_per_loop=50"]},
    )

The same function runs unchanged inside a Vertex AI CustomJob
(`tfx.extensions.google_cloud_ai_platform.Trainer`), which passes the same `fn_args`.

`custom_config` keys (anything else is an error, except the `ai_platform_*` keys that the
Vertex Trainer extension reads and passes through):
  experiment         (str, required) a registered experiment, e.g. "bert/base_seq128".
  experiment_config  (mapping, or its JSON string) partial ExperimentConfig values merged
                     over the named experiment, e.g. {"runtime": {"tpu": "local"}}.
  params             (list of "key=value") overrides applied last, as `--param`.
  checkpoint_dir     (str) where training checkpoints live; default below.
  checkpoint_root    (str) checkpoints live in `<checkpoint_root>/<cross-run fingerprint>`,
                     so a new run of the same training continues where an earlier run
                     stopped (set by `bertpipe compile`; `training.fresh_start` turns it off).

What comes from the pipeline instead of the config: the input files (the Examples
artifact's splits: `fn_args.train_files`/`eval_files`), `seq_length`,
`max_predictions_per_seq` and `vocab_size` (the artifact's `example_gen_config.json` and
`vocab.txt`), `train_steps` (TrainArgs) and `validation_steps` (EvalArgs, when set). A
config value that contradicts one of them is an error, not silently replaced. With
`task.init_checkpoint`, the checkpoint's vocab.txt must be the artifact's, token for token
(`Task.check_vocabulary`, before anything is written).
TensorBoard logs go to `fn_args.model_run_dir`; the model is exported to
`fn_args.serving_model_dir` (the layout of `export.py`) by the chief; other workers wait
for the chief's export, because TFX checks that the directory exists on every replica.

Checkpoints and retries: under TFX's local runners `model_run_dir` and
`serving_model_dir` are new for every execution (`<root>/<Trainer>/model_run/<execution
id>`), and a retried or re-launched Trainer step is a new execution, so checkpoints
written there would be lost to the retry. By default checkpoints therefore go to
`<root>/<Trainer>/checkpoints/<fingerprint>`, beside `model_run/`, where `<fingerprint>`
is a hash of the fully resolved experiment (input paths, which name the Examples
artifact, lengths, model, optimizer, train_steps, ...). A retry of the same job computes
the same fingerprint and continues from the latest checkpoint; a run with other data or
settings gets another directory and starts fresh (never resuming someone else's
optimizer state). A job that already finished resumes at its last step and only
re-exports. On Kubeflow Pipelines v2 and Vertex Pipelines a retried task keeps its
output URIs (`<root>/<run>/<task>/model_run`), so the checkpoints go to
`<root>/<run>/<task>/checkpoints/<fingerprint>`; a Vertex CustomJob restarting a
preempted replica sees the same `fn_args` too. Set `checkpoint_dir` to choose the
location yourself (e.g. a bucket with a retention policy, or to resume across runs).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import logging
import posixpath
import time
from collections.abc import Mapping
from typing import Any

from components import configs
from components.errors import BertpipeError
from components.trainer import examples_metadata, experiments
from components.trainer.experiment import ExperimentConfig

_log = logging.getLogger(__name__)

EXPERIMENT_KEY = "experiment"
EXPERIMENT_CONFIG_KEY = "experiment_config"
PARAMS_KEY = "params"
CHECKPOINT_DIR_KEY = "checkpoint_dir"
CHECKPOINT_ROOT_KEY = "checkpoint_root"
CUSTOM_CONFIG_KEYS = (
    EXPERIMENT_KEY,
    EXPERIMENT_CONFIG_KEY,
    PARAMS_KEY,
    CHECKPOINT_DIR_KEY,
    CHECKPOINT_ROOT_KEY,
)
# Keys of tfx.extensions.google_cloud_ai_platform (job spec, region, ...): not ours.
_EXTENSION_PREFIX = "ai_platform_"
# The Trainer's output key of the TensorBoard directory (TFX's MODEL_RUN_KEY).
_MODEL_RUN_KEY = "model_run"
# How long a non-chief worker waits for the chief's export after training.
_EXPORT_WAIT_SECONDS = 1800


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """`custom_config`, parsed and checked (see the module docstring)."""

    experiment: str
    experiment_config: Mapping[str, Any]
    params: tuple[str, ...]
    checkpoint_dir: str | None
    checkpoint_root: str | None = None


def parse_custom_config(custom_config: Mapping[str, Any] | None) -> RunConfig:
    """Checks `custom_config`'s keys and types.

    Raises:
      BertpipeError: a missing experiment, an unknown key or a wrong type.
    """
    custom = dict(custom_config or {})
    for key in custom:
        if key not in CUSTOM_CONFIG_KEYS and not key.startswith(_EXTENSION_PREFIX):
            close = difflib.get_close_matches(key, CUSTOM_CONFIG_KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise BertpipeError(
                f"unknown Trainer custom_config key {key!r}{hint} Valid keys: "
                f"{', '.join(CUSTOM_CONFIG_KEYS)}."
            )
    name = custom.get(EXPERIMENT_KEY)
    if not isinstance(name, str) or not name:
        raise BertpipeError(
            f"Trainer custom_config needs {EXPERIMENT_KEY!r}: a registered experiment, one of "
            f"{experiments.experiment_names()}."
        )
    overrides = custom.get(EXPERIMENT_CONFIG_KEY) or {}
    if isinstance(overrides, str):
        try:
            overrides = json.loads(overrides)
        except ValueError as e:
            raise BertpipeError(f"custom_config {EXPERIMENT_CONFIG_KEY} is not JSON: {e}") from None
    if not isinstance(overrides, Mapping):
        raise BertpipeError(f"custom_config {EXPERIMENT_CONFIG_KEY} must be a mapping.")
    params = custom.get(PARAMS_KEY) or []
    if isinstance(params, str) or not all(isinstance(p, str) for p in params):
        raise BertpipeError(f"custom_config {PARAMS_KEY} must be a list of 'key=value' strings.")
    locations = {k: custom.get(k) or None for k in (CHECKPOINT_DIR_KEY, CHECKPOINT_ROOT_KEY)}
    for key, value in locations.items():
        if value is not None and not isinstance(value, str):
            raise BertpipeError(f"custom_config {key} must be a path string.")
    if all(locations.values()):
        raise BertpipeError(
            f"custom_config sets both {CHECKPOINT_DIR_KEY} and {CHECKPOINT_ROOT_KEY}; set one "
            "(checkpoint_dir: exactly this directory; checkpoint_root: one per fingerprint)."
        )
    return RunConfig(name, dict(overrides), tuple(params), *locations.values())


def resolve_experiment(
    run: RunConfig, fn_args
) -> tuple[ExperimentConfig, examples_metadata.ExamplesMetadata]:
    """The experiment of `run` following the Examples artifact and Train/EvalArgs, and
    the artifact's metadata.

    Raises:
      BertpipeError: the examples are not bertpipe's, or a config value contradicts them
        or the Train/EvalArgs.
    """
    loaded = experiments.load_experiment(
        run.experiment,
        config_data=run.experiment_config,
        params=run.params,
        params_source="Trainer custom_config params",
    )
    patterns = [*fn_args.train_files, *fn_args.eval_files]
    metadata = examples_metadata.metadata_for_patterns(patterns)
    if metadata is None:
        raise BertpipeError(
            f"the Trainer's examples {patterns} are not an Examples artifact of bertpipe's "
            f"example generator (Split-*/ beside vocab.txt and example_gen_config.json)."
        )
    experiment = examples_metadata.apply_examples_metadata(
        loaded.config, metadata, loaded.user_keys
    )
    experiment = examples_metadata.with_input_paths(
        experiment, fn_args.train_files, fn_args.eval_files
    )
    trainer = experiment.trainer
    steps = {"train_steps": fn_args.train_steps, "validation_steps": fn_args.eval_steps}
    for key, value in steps.items():
        user = experiments.user_value(loaded.user_keys, f"trainer.{key}")
        if value and user is not None and user != value:
            source = "TrainArgs.num_steps" if key == "train_steps" else "EvalArgs.num_steps"
            raise BertpipeError(
                f"trainer.{key}={user} in the Trainer's custom_config contradicts {source}="
                f"{value}; set it in one place."
            )
        if value:
            trainer = dataclasses.replace(trainer, **{key: int(value)})
    return dataclasses.replace(experiment, trainer=trainer), metadata


def fingerprint(experiment: ExperimentConfig) -> str:
    """A short stable hash of the fully resolved experiment."""
    return hashlib.sha256(configs.to_json(experiment).encode()).hexdigest()[:16]


def default_checkpoint_dir(model_run_dir: str, experiment: ExperimentConfig) -> str:
    """`<dir>/checkpoints/<fingerprint>` beside the `model_run` output (module docstring).

    Two layouts of `model_run_dir`:
      TFX's local runners: `<root>/<Trainer>/model_run/<execution id>`, a new id per
        execution -> `<root>/<Trainer>/checkpoints/<fingerprint>`;
      Kubeflow Pipelines v2 and Vertex Pipelines: `<root>/<run>/<task>/model_run`, the
        same for every retry of the task -> `<root>/<run>/<task>/checkpoints/<fingerprint>`.
    Any other layout: `<model_run_dir>/checkpoints`, kept within one execution only.
    """
    head, last = posixpath.split(model_run_dir.rstrip("/"))
    if last == _MODEL_RUN_KEY:
        return posixpath.join(head, "checkpoints", fingerprint(experiment))
    node_dir, kind = posixpath.split(head)
    if kind == _MODEL_RUN_KEY:
        return posixpath.join(node_dir, "checkpoints", fingerprint(experiment))
    _log.warning(
        "model_run_dir %s has neither TFX's nor KFP's layout: checkpoints go under it and "
        "may not survive a retried execution; set custom_config checkpoint_dir.",
        model_run_dir,
    )
    return posixpath.join(model_run_dir, "checkpoints")


def cross_run_fingerprint(
    experiment: ExperimentConfig, metadata: examples_metadata.ExamplesMetadata
) -> str:
    """A hash of what is trained, wherever the Examples artifact lives.

    A new Kubeflow/Vertex run writes its examples under a new run directory, so the
    experiment's input paths differ between runs of the same job; this fingerprint
    replaces them by each example file's path inside the artifact and size, plus the
    vocabulary's contents. Same data, settings and steps -> same fingerprint.
    """
    import tensorflow as tf

    task = experiment.task
    files = []
    for pattern in (*task.train_data.input_path, *task.validation_data.input_path):
        for path in sorted(tf.io.gfile.glob(pattern)):
            relative = posixpath.relpath(path, metadata.root)
            files.append((relative, tf.io.gfile.stat(path).length))
    with tf.io.gfile.GFile(metadata.vocab_path, "rb") as f:
        vocab = hashlib.sha256(f.read()).hexdigest()
    located = examples_metadata.with_input_paths(experiment, (), ())
    content = json.dumps([configs.to_json(located), files, vocab])
    return hashlib.sha256(content.encode()).hexdigest()[:16]


def checkpoint_dir_for(run: RunConfig, fn_args, experiment, metadata) -> str:
    """`checkpoint_dir`, else `<checkpoint_root>/<cross-run fingerprint>`, else the default."""
    if run.checkpoint_dir:
        return run.checkpoint_dir
    if run.checkpoint_root:
        return posixpath.join(run.checkpoint_root, cross_run_fingerprint(experiment, metadata))
    return default_checkpoint_dir(fn_args.model_run_dir, experiment)


def run_fn(fn_args) -> None:
    """Trains and exports the experiment of `fn_args.custom_config` (module docstring)."""
    from components.tokenization import Normalization
    from components.trainer import distribute, export, registry, train_lib

    _show_progress()
    run = parse_custom_config(fn_args.custom_config)
    experiment, metadata = resolve_experiment(run, fn_args)
    registry.get_task(experiment.task).check_vocabulary(metadata.vocab_path)
    checkpoint_dir = checkpoint_dir_for(run, fn_args, experiment, metadata)
    _log.info("experiment %s; checkpoints in %s", run.experiment, checkpoint_dir)
    strategy = distribute.build_strategy(experiment.runtime)
    chief = distribute.is_chief(strategy)
    if chief:
        _write_experiment(checkpoint_dir, experiment)
    result = train_lib.run_experiment(
        experiment,
        checkpoint_dir=checkpoint_dir,
        summary_dir=fn_args.model_run_dir,
        strategy=strategy,
    )
    if not chief:
        _await_export(fn_args.serving_model_dir)
        return
    export.export_model(
        result.trainer.task,
        result.trainer.model,
        fn_args.serving_model_dir,
        vocab_path=metadata.vocab_path,
        experiment=experiment,
        normalization=Normalization(lower_case=metadata.lower_case),
        step=result.step,
    )


def _write_experiment(checkpoint_dir: str, experiment: ExperimentConfig) -> None:
    """Records which experiment the checkpoints belong to (for people and tools)."""
    import tensorflow as tf

    tf.io.gfile.makedirs(checkpoint_dir)
    with tf.io.gfile.GFile(posixpath.join(checkpoint_dir, "experiment.json"), "w") as f:
        f.write(configs.to_json(experiment) + "\n")


def _await_export(export_dir: str) -> None:
    """Waits until the chief's export is complete (its marker file exists)."""
    import tensorflow as tf

    from components.trainer import export

    marker = posixpath.join(export_dir, "assets", export.INFO_FILENAME)
    deadline = time.monotonic() + _EXPORT_WAIT_SECONDS
    while not tf.io.gfile.exists(marker):
        if time.monotonic() > deadline:
            raise BertpipeError(
                f"the chief's export {export_dir} did not appear within "
                f"{_EXPORT_WAIT_SECONDS} s after training; check the chief's log."
            )
        time.sleep(5)


def _show_progress() -> None:
    """Lets the trainer's INFO progress lines through wherever the executor logs.

    TFX executors log with absl; Python's root logger may have no handler (then only
    warnings would show) or sit at WARNING.
    """
    logger = logging.getLogger("components")
    logger.setLevel(logging.INFO)
    if not logging.getLogger().handlers and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
        logger.addHandler(handler)
