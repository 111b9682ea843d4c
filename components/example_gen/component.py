"""The `MaskedLMExampleGen` TFX component: a text corpus -> masked-LM `Examples`.

Inputs: the corpus (parameter `corpus`: globs and format, as VocabGen's) and the vocabulary,
either as a `Vocabulary` artifact channel (`vocabulary`, e.g. from VocabGen) or a path or
bundled name (`vocab`), exactly one.
Output `examples`: a standard `Examples` artifact, split_names ["train", "eval"], in the
layout of `layout.py` (Split-*/ gzip TFRecords, vocab.txt, example_gen_config.json,
stats.json).
"""

from __future__ import annotations

from collections.abc import Sequence

from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import channel, standard_artifacts

from components import configs
from components.corpus import Corpus, CorpusFormat
from components.errors import BertpipeError
from components.example_gen import executor
from components.example_gen.config import ExampleGenConfig
from components.example_gen.spec import (
    CONFIG_KEY,
    CORPUS_KEY,
    EXAMPLES_KEY,
    VOCAB_KEY,
    VOCABULARY_KEY,
    MaskedLMExampleGenSpec,
)


class MaskedLMExampleGen(base_beam_component.BaseBeamComponent):
    """Turns a text corpus into masked-LM TFRecords, train and eval splits.

    Args:
      corpus: a `Corpus` (globs or directories, local or gs://, and their format), a list
        of globs, or one comma-separated string of globs.
      corpus_format: how to read a corpus given as globs (default: by extension).
      vocabulary: a channel of `Vocabulary` artifacts (a directory holding vocab.txt).
      vocab: instead of `vocabulary`: a vocab.txt path, a directory holding one, or
        `bert-base-uncased`.
      config: the generation parameters (validated when constructed).

    Raises:
      BertpipeError: no corpus glob, a bad corpus format, or not exactly one of
        `vocabulary` and `vocab`.
    """

    SPEC_CLASS = MaskedLMExampleGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(
        self,
        corpus: Corpus | str | Sequence[str],
        vocabulary: channel.BaseChannel | None = None,
        vocab: str | None = None,
        config: ExampleGenConfig | None = None,
        corpus_format: CorpusFormat | None = None,
    ):
        corpus = Corpus.of(corpus, corpus_format)
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
            **{
                CORPUS_KEY: configs.to_json(corpus),
                VOCAB_KEY: vocab,
                CONFIG_KEY: configs.to_json(config),
                VOCABULARY_KEY: vocabulary,
                EXAMPLES_KEY: channel.Channel(type=standard_artifacts.Examples),
            }
        )
        super().__init__(spec=spec)
