"""`create_pipeline(config)`: the bertpipe TFX pipeline, the same for every orchestrator.

    VocabGen (learn or import) -> MaskedLMExampleGen -> Trainer (run_fn)
        -> MaskedLMEvaluator (+ baseline) -> Pusher (only a blessed model)

Pure: it reads no environment and touches no file; the runner supplies the metadata
connection (SQLite under the pipeline root locally; the orchestrator's own elsewhere). What
differs per target is only what the target requires:
  - the baseline: by default the model currently at the push destination (works on every
    orchestrator, and keeps a re-run with nothing changed fully cached); optionally a
    latest-blessed-model Resolver where the backend runs Resolver nodes (local, Vertex; the
    open-source Kubeflow backend rejects them);
  - the Trainer: on Vertex with a `tpu` section, TFX's Vertex Trainer extension runs the
    same `run_fn` as a TPU CustomJob; on Kubeflow with a `tpu` section the Trainer step is
    placed on the TPU node pool at compile time (pipelines/runners/kubeflow.py) and its
    experiment switches to the TPU strategy.
"""

from __future__ import annotations

from typing import Literal

from tfx import v1 as tfx

from components.configs import merge as configs_merge
from components.errors import BertpipeError
from components.evaluator.component import MaskedLMEvaluator
from components.evaluator.resolver import BaselineWiring, baseline_wiring
from components.example_gen.component import MaskedLMExampleGen
from components.pusher.component import pusher
from components.trainer import run_fn as run_fn_lib
from components.vocab_gen.component import VocabGen
from pipelines.config import PipelineConfig

Target = Literal["local", "kubeflow", "vertex"]
TARGETS: tuple[str, ...] = ("local", "kubeflow", "vertex")
RUN_FN = "components.trainer.run_fn.run_fn"


def create_pipeline(
    config: PipelineConfig,
    *,
    target: Target = "local",
    metadata_connection_config=None,
    beam_pipeline_args: list[str] | None = None,
) -> tfx.dsl.Pipeline:
    """Builds the pipeline for `target` ('local', 'kubeflow' or 'vertex').

    Args:
      config: the validated pipeline config (corpus entries already resolved to globs).
      target: where it will run.
      metadata_connection_config: ML Metadata connection (local runs; None elsewhere).
      beam_pipeline_args: Beam options of the data components; default: the config's
        (local) or the deployment's (Kubeflow/Vertex).
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    corpus = list(config.corpus)
    vocabulary = config.vocabulary
    if vocabulary.import_uri:
        vocab_gen = VocabGen(
            vocab_uri=vocabulary.import_uri,
            corpus_pattern=corpus,
            config=_import_normalization(config),
        )
    else:
        vocab_gen = VocabGen(corpus_pattern=corpus, config=vocabulary.learn)
    example_gen = MaskedLMExampleGen(
        corpus=corpus, vocabulary=vocab_gen.outputs["vocabulary"], config=config.examples
    )
    trainer = _trainer(config, target, example_gen.outputs["examples"])
    wiring = _baseline(config, target)
    evaluator = MaskedLMEvaluator(
        model=trainer.outputs["model"],
        examples=example_gen.outputs["examples"],
        thresholds=config.evaluation.thresholds,
        max_eval_examples=config.evaluation.max_eval_examples,
        initial_baseline=config.evaluation.initial_baseline,
        **wiring.evaluator_kwargs,
    )
    push = pusher(
        trainer.outputs["model"],
        evaluator.outputs["blessing"],
        config.serving_dir,
        huggingface=config.push_huggingface,
    )
    nodes = [vocab_gen, example_gen, trainer]
    nodes += [wiring.resolver] if wiring.resolver is not None else []
    nodes += [evaluator, push]
    if beam_pipeline_args is None:
        beam_pipeline_args = (
            list(config.beam_pipeline_args)
            if target == "local"
            else config.deployment.beam_pipeline_args()
        )
    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=config.pipeline_root,
        components=nodes,
        enable_cache=True,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=beam_pipeline_args,
    )


def trainer_custom_config(config: PipelineConfig, target: Target = "local") -> dict:
    """The Trainer's `run_fn` custom_config (see components/trainer/run_fn.py)."""
    training = config.training
    experiment_config = dict(training.experiment_config)
    if target != "local":
        experiment_config = configs_merge(
            experiment_config, config.deployment.trainer_runtime_overrides()
        )
    custom = {
        run_fn_lib.EXPERIMENT_KEY: training.experiment,
        run_fn_lib.EXPERIMENT_CONFIG_KEY: experiment_config,
        run_fn_lib.PARAMS_KEY: list(training.params),
    }
    if training.checkpoint_dir:
        custom[run_fn_lib.CHECKPOINT_DIR_KEY] = training.checkpoint_dir
    return custom


def _trainer(config: PipelineConfig, target: Target, examples):
    custom_config = trainer_custom_config(config, target)
    kwargs = {
        "run_fn": RUN_FN,
        "examples": examples,
        "train_args": tfx.proto.TrainArgs(num_steps=config.training.train_steps),
        "eval_args": tfx.proto.EvalArgs(num_steps=config.training.eval_steps or None),
    }
    if target == "vertex" and config.deployment.tpu is not None:
        from pipelines.runners.vertex import vertex_trainer_custom_config

        return tfx.extensions.google_cloud_ai_platform.Trainer(
            custom_config=vertex_trainer_custom_config(config.deployment, base=custom_config),
            **kwargs,
        )
    return tfx.components.Trainer(custom_config=custom_config, **kwargs)


def _baseline(config: PipelineConfig, target: Target):
    if config.evaluation.baseline == "latest_blessed":
        if target == "kubeflow":
            raise BertpipeError(
                "evaluation.baseline latest_blessed needs a TFX Resolver node, which the "
                "open-source Kubeflow Pipelines backend rejects; use baseline: serving (the "
                "model at the push destination)."
            )
        return baseline_wiring(target, config.serving_dir)
    return BaselineWiring(None, {"baseline_push_destination": config.serving_dir})


def _import_normalization(config: PipelineConfig):
    """For an imported vocabulary only the normalisation matters: the examples'."""
    from components.vocab_gen.config import VocabConfig

    return VocabConfig(lower_case=config.examples.lower_case)
