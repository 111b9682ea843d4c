"""VocabGen: the TFX component that learns (or imports) the pipeline's WordPiece vocabulary."""

from __future__ import annotations

from collections.abc import Sequence

from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec

from components import configs
from components.artifacts import Vocabulary
from components.corpus import Corpus, CorpusFormat
from components.errors import BertpipeError
from components.vocab_gen import executor
from components.vocab_gen.config import VocabConfig
from components.vocab_gen.spec import (
    CONFIG_KEY,
    CORPUS_KEY,
    VOCAB_URI_KEY,
    VOCABULARY_KEY,
    VocabGenSpec,
)


class VocabGen(base_beam_component.BaseBeamComponent):
    """Learns a WordPiece vocabulary from text files with Beam, or imports a given one.

    Output `vocabulary` (a `components.Vocabulary`): a directory with `vocab.txt` and
    `vocab_stats.json`.

    Examples:
      VocabGen(corpus="gs://bucket/corpus/*.txt", config=VocabConfig(vocab_size=32000))
      VocabGen(corpus=Corpus(("gs://b/c/*.jsonl.gz",), CorpusFormat(text_field="body")))
      VocabGen(vocab_uri="bert-base-uncased")  # Import; add corpus for coverage.
    """

    SPEC_CLASS = VocabGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(
        self,
        corpus: Corpus | str | Sequence[str] | None = None,
        config: VocabConfig | None = None,
        vocab_uri: str | None = None,
        corpus_format: CorpusFormat | None = None,
    ):
        """Builds the component; the mode is checked here, before any pipeline runs.

        Args:
          corpus: a `Corpus` (globs or directories and their format), a list of globs, or
            one comma-separated string of globs: as MaskedLMExampleGen's. Learned from; in
            import mode, measured for coverage.
          config: learning parameters; in import mode only its normalisation applies.
          vocab_uri: import this vocabulary instead of learning one: a vocab.txt path, a
            directory holding one, or `bert-base-uncased`.
          corpus_format: how to read a corpus given as globs (default: by extension).

        Raises:
          BertpipeError: neither a corpus nor a vocabulary, or learning parameters given
            together with `vocab_uri`.
        """
        config = config or VocabConfig()
        if isinstance(corpus, str):
            corpus = [p for p in corpus.split(",") if p.strip()]
        corpus = Corpus.of(corpus, corpus_format) if corpus else None
        if vocab_uri is not None and not vocab_uri.strip():
            raise BertpipeError("VocabGen vocab_uri is empty; give a vocab.txt path or omit it.")
        if vocab_uri and config.learning_overrides():
            raise BertpipeError(
                f"VocabGen imports {vocab_uri!r}, so the learning parameters "
                f"{config.learning_overrides()} do not apply; drop vocab_uri to learn a "
                "vocabulary, or keep only lower_case/strip_accents in the config."
            )
        if not vocab_uri and corpus is None:
            raise BertpipeError(
                "VocabGen needs corpus (text files to learn from) or vocab_uri "
                "(a vocabulary to import, e.g. 'bert-base-uncased')."
            )
        super().__init__(
            spec=VocabGenSpec(
                **{
                    CORPUS_KEY: None if corpus is None else configs.to_json(corpus),
                    CONFIG_KEY: configs.to_json(config),
                    VOCAB_URI_KEY: vocab_uri,
                    VOCABULARY_KEY: types.Channel(type=Vocabulary),
                }
            )
        )
