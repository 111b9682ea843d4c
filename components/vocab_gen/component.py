"""VocabGen: the TFX component that learns (or imports) the pipeline's WordPiece vocabulary."""

from __future__ import annotations

from collections.abc import Sequence

from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec

from components import configs
from components.artifacts import Vocabulary
from components.errors import BertpipeError
from components.vocab_gen import executor, transforms
from components.vocab_gen.config import VocabConfig
from components.vocab_gen.spec import VocabGenSpec


class VocabGen(base_beam_component.BaseBeamComponent):
    """Learns a WordPiece vocabulary from text files with Beam, or imports a given one.

    Output `vocabulary` (a `components.Vocabulary`): a directory with `vocab.txt` and
    `vocab_stats.json`.

    Examples:
      VocabGen(corpus_pattern="gs://bucket/corpus/*.txt", config=VocabConfig(vocab_size=32000))
      VocabGen(vocab_uri="bert-base-uncased")  # Import; add corpus_pattern for coverage.
    """

    SPEC_CLASS = VocabGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(
        self,
        corpus_pattern: str | Sequence[str] | None = None,
        config: VocabConfig | None = None,
        vocab_uri: str | None = None,
    ):
        """Builds the component; the mode is checked here, before any pipeline runs.

        Args:
          corpus_pattern: text files, one sentence per line (file patterns, a list or one
            comma-separated string). Learned from; in import mode, measured for coverage.
          config: learning parameters; in import mode only its normalisation applies.
          vocab_uri: import this vocabulary instead of learning one: a vocab.txt path, a
            directory holding one, or `bert-base-uncased`.

        Raises:
          BertpipeError: neither a corpus nor a vocabulary, or learning parameters given
            together with `vocab_uri`.
        """
        config = config or VocabConfig()
        patterns = transforms.split_patterns(corpus_pattern or [])
        if vocab_uri is not None and not vocab_uri.strip():
            raise BertpipeError("VocabGen vocab_uri is empty; give a vocab.txt path or omit it.")
        if vocab_uri and config.learning_overrides():
            raise BertpipeError(
                f"VocabGen imports {vocab_uri!r}, so the learning parameters "
                f"{config.learning_overrides()} do not apply; drop vocab_uri to learn a "
                "vocabulary, or keep only lower_case/strip_accents in the config."
            )
        if not vocab_uri and not patterns:
            raise BertpipeError(
                "VocabGen needs corpus_pattern (text files to learn from) or vocab_uri "
                "(a vocabulary to import, e.g. 'bert-base-uncased')."
            )
        super().__init__(
            spec=VocabGenSpec(
                corpus_pattern=",".join(patterns) or None,
                config=configs.to_json(config),
                vocab_uri=vocab_uri,
                vocabulary=types.Channel(type=Vocabulary),
            )
        )
