"""`VocabConfig`: how VocabGen learns a WordPiece vocabulary (no TFX, Beam or TF import).

The pipeline config embeds this dataclass; it crosses into the executor as JSON
(`components.configs.to_json` / `from_json`). In import mode only the normalisation fields
(`lower_case`, `strip_accents`) apply: they say how the corpus is tokenized to measure the
imported vocabulary's coverage.
"""

from __future__ import annotations

import dataclasses

from components import vocabulary
from components.configs import check_int, check_number
from components.errors import BertpipeError

# BERT-Base's size, the usual target for an English corpus of gigabytes.
DEFAULT_VOCAB_SIZE = 30522


@dataclasses.dataclass(frozen=True)
class VocabConfig:
    """Parameters of WordPiece vocabulary learning.

    Attributes:
      vocab_size: the most tokens the vocabulary holds, reserved tokens included. The
        learner aims for `vocab_size * (1 - slack_ratio)` to `vocab_size`; a small corpus
        can give fewer (no piece below `min_token_count` occurrences is learned).
      lower_case: case-fold the text (an uncased model).
      strip_accents: drop accents after NFD; None means the same as `lower_case`.
      num_unused: `[unused0]`... slots after the reserved tokens, for tokens added later
        without changing any id.
      max_unique_chars: the alphabet: the most frequent characters of the corpus, each kept
        as a token and as a `##` continuation. A word with any other character is `[UNK]`.
      max_token_length: words longer than this (in characters) are not learned from.
      max_input_words: the learner reads only this many most frequent words; its time and
        memory grow with it.
      min_token_count: the lowest corpus count a learned piece may have.
      num_iterations: refinement passes of the learner per frequency threshold.
      slack_ratio: how far below `vocab_size` the learned size may stop.
    """

    vocab_size: int = DEFAULT_VOCAB_SIZE
    lower_case: bool = True
    strip_accents: bool | None = None
    num_unused: int = 0
    max_unique_chars: int = 1000
    max_token_length: int = 50
    max_input_words: int = 5_000_000
    min_token_count: int = 10
    num_iterations: int = 4
    slack_ratio: float = 0.05

    def __post_init__(self):
        for name in (
            "num_unused",
            "max_unique_chars",
            "max_token_length",
            "max_input_words",
            "min_token_count",
            "num_iterations",
        ):
            check_int("VocabConfig", name, getattr(self, name), 0 if name == "num_unused" else 1)
        check_number("VocabConfig", "slack_ratio", self.slack_ratio, 0, 1, high_open=True)
        # The corpus decides the alphabet; the learner checks the full budget once it knows
        # it. Here: room for the reserved tokens and at least one character and its ## form.
        smallest = len(self.reserved_tokens()) + 2
        check_int("VocabConfig", "vocab_size", self.vocab_size, 1)
        if self.vocab_size < smallest:
            raise BertpipeError(
                f"vocab_size {self.vocab_size} is smaller than the {smallest - 2} reserved "
                f"tokens (5 + num_unused={self.num_unused}) plus an alphabet; use a "
                "vocab_size of thousands (BERT-Base: 30522)."
            )

    def reserved_tokens(self) -> list[str]:
        """`[PAD] [UNK] [CLS] [SEP] [MASK]` then `[unused0]`...: the first ids, in order."""
        unused = [f"[unused{i}]" for i in range(self.num_unused)]
        return list(vocabulary.RESERVED_TOKENS) + unused

    def normalization(self):
        """The `components.tokenization.Normalization` these settings mean."""
        from components.tokenization import Normalization  # Imports TensorFlow.

        return Normalization(lower_case=self.lower_case, strip_accents=self.strip_accents)

    def learning_overrides(self) -> dict[str, object]:
        """Learning parameters set to non-defaults (meaningless when importing)."""
        default = VocabConfig()
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("lower_case", "strip_accents")
            and getattr(self, f.name) != getattr(default, f.name)
        }
