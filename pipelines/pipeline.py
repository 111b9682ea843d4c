"""`create_pipeline(config, ...)`: the bertpipe TFX pipeline, the same for every orchestrator.

    VocabGen (learn or import) -> MaskedLMExampleGen -> Trainer (run_fn)
        -> MaskedLMEvaluator (+ baseline) -> Pusher (only a blessed model)

Pure: it reads no environment, touches no file and knows no target. What differs between
orchestrators arrives as explicit pieces that the caller builds (TFX's taxi template does
the same with `ai_platform_training_args`):
  - `trainer`: which Trainer component runs `run_fn` and its `custom_config` (default: the
    standard Trainer with `trainer_custom_config(config)`; on Vertex with a TPU, the
    runner passes TFX's Vertex Trainer extension, see pipelines/runners/cloud.py);
  - `baseline`: the evaluator's baseline wiring (default: the model at the push
    destination; a latest-blessed Resolver where the backend runs Resolver nodes);
  - `beam_pipeline_args`: Beam options of the data components;
  - `metadata_connection_config`: ML Metadata (SQLite locally; None on Kubeflow/Vertex).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from tfx import v1 as tfx

from components.configs import merge as configs_merge
from components.evaluator import spec as evaluator_spec
from components.evaluator.component import MaskedLMEvaluator
from components.evaluator.resolver import BaselineWiring
from components.example_gen import spec as example_gen_spec
from components.example_gen.component import MaskedLMExampleGen
from components.pusher.component import pusher
from components.trainer import run_fn as run_fn_lib
from components.vocab_gen import spec as vocab_gen_spec
from components.vocab_gen.component import VocabGen
from components.vocab_gen.config import VocabConfig
from pipelines.config import PipelineConfig

RUN_FN = "components.trainer.run_fn.run_fn"


@dataclasses.dataclass(frozen=True)
class TrainerSpec:
    """The Trainer step: the component class that runs `run_fn`, and its custom_config.

    Attributes:
      custom_config: what the component receives as `custom_config` (for the standard
        Trainer: `run_fn`'s own config, see `trainer_custom_config`).
      component: `tfx.components.Trainer` or a subclass with the same arguments (TFX's
        Vertex Trainer extension).
    """

    custom_config: dict
    component: type = tfx.components.Trainer


def serving_baseline(config: PipelineConfig) -> BaselineWiring:
    """The baseline every orchestrator can run: the model at the push destination."""
    return BaselineWiring(None, {"baseline_push_destination": config.serving_dir})


def trainer_custom_config(config: PipelineConfig, runtime_overrides: dict | None = None) -> dict:
    """The Trainer's `run_fn` custom_config (see components/trainer/run_fn.py).

    Args:
      config: the pipeline config.
      runtime_overrides: experiment-config overrides the target needs (e.g. the TPU
        strategy: `DeploymentConfig.trainer_runtime_overrides()`), merged over the config's.
    """
    training = config.training
    experiment_config = dict(training.experiment_config)
    if runtime_overrides:
        experiment_config = configs_merge(experiment_config, runtime_overrides)
    custom = {
        run_fn_lib.EXPERIMENT_KEY: training.experiment,
        run_fn_lib.EXPERIMENT_CONFIG_KEY: experiment_config,
        run_fn_lib.PARAMS_KEY: list(training.params),
    }
    if training.checkpoint_dir:
        custom[run_fn_lib.CHECKPOINT_DIR_KEY] = training.checkpoint_dir
    return custom


def create_pipeline(
    config: PipelineConfig,
    *,
    beam_pipeline_args: Sequence[str],
    trainer: TrainerSpec | None = None,
    baseline: BaselineWiring | None = None,
    metadata_connection_config=None,
) -> tfx.dsl.Pipeline:
    """Builds the pipeline of `config` from the pieces the caller chose.

    Args:
      config: the validated pipeline config (corpus entries already resolved to globs).
      beam_pipeline_args: Beam options of the data components.
      trainer: the Trainer step; None: the standard Trainer, `trainer_custom_config(config)`.
      baseline: the evaluator's baseline; None: `serving_baseline(config)`.
      metadata_connection_config: ML Metadata connection (local runs; None elsewhere).
    """
    trainer = trainer or TrainerSpec(trainer_custom_config(config))
    baseline = baseline or serving_baseline(config)
    corpus = list(config.corpus)
    vocab_gen = _vocab_gen(config, corpus)
    example_gen = MaskedLMExampleGen(
        corpus=corpus,
        vocabulary=vocab_gen.outputs[vocab_gen_spec.VOCABULARY_KEY],
        config=config.examples,
        corpus_format=config.corpus_format,
    )
    train = trainer.component(
        run_fn=RUN_FN,
        examples=example_gen.outputs[example_gen_spec.EXAMPLES_KEY],
        train_args=tfx.proto.TrainArgs(num_steps=config.training.train_steps),
        eval_args=tfx.proto.EvalArgs(num_steps=config.training.eval_steps or None),
        custom_config=trainer.custom_config,
    )
    evaluator = MaskedLMEvaluator(
        model=train.outputs["model"],
        examples=example_gen.outputs[example_gen_spec.EXAMPLES_KEY],
        thresholds=config.evaluation.thresholds,
        max_eval_examples=config.evaluation.max_eval_examples,
        initial_baseline=config.evaluation.initial_baseline,
        **baseline.evaluator_kwargs,
    )
    push = pusher(
        train.outputs["model"],
        evaluator.outputs[evaluator_spec.BLESSING_KEY],
        config.serving_dir,
        huggingface=config.push_huggingface,
    )
    nodes = [vocab_gen, example_gen, train]
    nodes += [baseline.resolver] if baseline.resolver is not None else []
    nodes += [evaluator, push]
    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=config.pipeline_root,
        components=nodes,
        enable_cache=True,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=list(beam_pipeline_args),
    )


def _vocab_gen(config: PipelineConfig, corpus: list[str]) -> VocabGen:
    vocabulary = config.vocabulary
    if vocabulary.import_uri:
        # For an imported vocabulary only the normalisation matters: the examples'.
        return VocabGen(
            vocab_uri=vocabulary.import_uri,
            corpus=corpus,
            config=VocabConfig(lower_case=config.examples.lower_case),
            corpus_format=config.corpus_format,
        )
    return VocabGen(corpus=corpus, config=vocabulary.learn, corpus_format=config.corpus_format)
