"""The `MaskedLMExampleGen` TFX component: a text corpus -> masked-LM `Examples`.

Inputs: corpus file globs (parameter) and the vocabulary, either as a `Vocabulary` artifact
channel (`vocabulary`, e.g. from VocabGen) or a path/bundled name (`vocab`), exactly one.
Output `examples`: a standard `Examples` artifact, split_names ["train", "eval"], in the
layout of `layout.py` (Split-*/ gzip TFRecords, vocab.txt, example_gen_config.json,
stats.json).
"""

from __future__ import annotations

from collections.abc import Sequence

from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import channel, component_spec, standard_artifacts

from components import configs
from components.artifacts import Vocabulary
from components.errors import BertpipeError
from components.example_gen import executor, layout
from components.example_gen.config import ExampleGenConfig


class MaskedLMExampleGenSpec(component_spec.ComponentSpec):
    """Parameters, inputs and outputs of MaskedLMExampleGen."""

    PARAMETERS = {
        layout.CORPUS_KEY: component_spec.ExecutionParameter(type=list[str]),
        layout.VOCAB_KEY: component_spec.ExecutionParameter(type=str, optional=True),
        layout.CONFIG_KEY: component_spec.ExecutionParameter(type=str),
    }
    INPUTS = {
        layout.VOCABULARY_KEY: component_spec.ChannelParameter(type=Vocabulary, optional=True),
    }
    OUTPUTS = {
        layout.EXAMPLES_KEY: component_spec.ChannelParameter(type=standard_artifacts.Examples),
    }


class MaskedLMExampleGen(base_beam_component.BaseBeamComponent):
    """Turns a text corpus into masked-LM TFRecords, train and eval splits.

    Args:
      corpus: a file glob or a list of globs (local or gs://): one sentence per line, a blank
        line between documents.
      vocabulary: a channel of `Vocabulary` artifacts (a directory holding vocab.txt).
      vocab: instead of `vocabulary`: a vocab.txt path, a directory holding one, or
        `bert-base-uncased`.
      config: the generation parameters (validated when constructed).

    Raises:
      BertpipeError: no corpus glob, or not exactly one of `vocabulary` and `vocab`.
    """

    SPEC_CLASS = MaskedLMExampleGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(
        self,
        corpus: str | Sequence[str],
        vocabulary: channel.BaseChannel | None = None,
        vocab: str | None = None,
        config: ExampleGenConfig | None = None,
    ):
        globs = [corpus] if isinstance(corpus, str) else list(corpus)
        if not globs or not all(isinstance(g, str) and g.strip() for g in globs):
            raise BertpipeError(
                f"MaskedLMExampleGen corpus must be a file glob or a non-empty list of globs; "
                f"got {corpus!r}."
            )
        if (vocabulary is None) == (vocab is None):
            raise BertpipeError(
                "MaskedLMExampleGen needs exactly one vocabulary: `vocabulary` (a Vocabulary "
                "channel, e.g. vocab_gen.outputs['vocabulary']) or `vocab` (a vocab.txt path "
                f"or 'bert-base-uncased'); got vocabulary={vocabulary!r}, vocab={vocab!r}."
            )
        config = ExampleGenConfig() if config is None else config
        if not isinstance(config, ExampleGenConfig):
            raise BertpipeError(
                "MaskedLMExampleGen config must be an ExampleGenConfig; "
                f"got {type(config).__name__}."
            )
        spec = MaskedLMExampleGenSpec(
            corpus=globs,
            vocab=vocab,
            config=configs.to_json(config),
            vocabulary=vocabulary,
            examples=channel.Channel(type=standard_artifacts.Examples),
        )
        super().__init__(spec=spec)
