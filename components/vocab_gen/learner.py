"""Learning a BERT WordPiece vocabulary from word counts (pure Python: no Beam, no TFX).

tensorflow-text's learner (`wordpiece_tokenizer_learner_lib.learn`) does the work: a binary
search over a frequency threshold, each step growing WordPiece candidates from the word
counts. This wrapper fixes what BERT and bertpipe need around it:

- Order: `[PAD] [UNK] [CLS] [SEP] [MASK]` (ids 0-4), then `[unused0]`..., then the alphabet
  (sorted), then learned pieces by count. Ids of reserved tokens never depend on the corpus.
- Alphabet: the `max_unique_chars` most frequent characters of the *whole* corpus (counted
  by Beam over every word, not only the learner's input), each with its `##` form, so a
  word made of these characters never becomes `[UNK]`.
- Size: never above `vocab_size`. The learner can overshoot when its threshold search
  runs out; then its rarest pieces go (never a character or its `##` form).
- Determinism: the learner's input is sorted by (count desc, word) and its output is
  ordered by (count desc, token), so the vocabulary is a function of the counts alone,
  whatever order Beam delivered them in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib

from components import vocabulary
from components.errors import BertpipeError
from components.vocab_gen.config import VocabConfig

JOINER = "##"


@dataclasses.dataclass(frozen=True)
class LearnedVocabulary:
    """The learner's result and what it learned from.

    Attributes:
      tokens: the vocabulary in id order.
      alphabet: the characters kept (each a token and a `##` continuation).
      input_words: distinct words the learner read (after dropping words that are too
        long or hold a character outside the alphabet).
    """

    tokens: list[str]
    alphabet: list[str]
    input_words: int


def rank_key(item: tuple[str, int]) -> tuple[int, str]:
    """Sort key for (word, count): most frequent first, ties by the word itself."""
    return -item[1], item[0]


def select_alphabet(char_counts: Mapping[str, int], max_unique_chars: int) -> list[str]:
    """The `max_unique_chars` most frequent characters, sorted.

    Whitespace characters are never tokens: `vocab.txt` readers strip each line, and the
    normalisation maps every Unicode space to a separator before words are split.
    """
    ranked = sorted(
        ((c, n) for c, n in char_counts.items() if len(c) == 1 and not c.isspace()),
        key=rank_key,
    )
    return sorted(c for c, _ in ranked[:max_unique_chars])


def required_size(config: VocabConfig, alphabet: Sequence[str]) -> int:
    """Tokens every vocabulary needs: reserved, unused slots, characters and ## forms."""
    return len(config.reserved_tokens()) + 2 * len(alphabet)


def check_budget(config: VocabConfig, alphabet: Sequence[str]) -> None:
    """Raises BertpipeError when `vocab_size` cannot hold the reserved tokens + alphabet."""
    need = required_size(config, alphabet)
    if config.vocab_size < need:
        raise BertpipeError(
            f"vocab_size {config.vocab_size} is too small for this corpus: the reserved "
            f"tokens ({len(config.reserved_tokens())} with num_unused={config.num_unused}) "
            f"and its alphabet of {len(alphabet)} characters with their ## forms need "
            f"{need}. Raise vocab_size to at least {need}, or lower max_unique_chars "
            f"(now {config.max_unique_chars})."
        )


def learner_input(
    word_counts: Iterable[tuple[str, int]], alphabet: Sequence[str], max_token_length: int
) -> list[tuple[str, int]]:
    """The words the learner may learn from, in canonical (count desc, word) order.

    A word longer than `max_token_length`, or with a character outside the alphabet, is
    left out (tensorflow-text's learner would drop it too); it still counts for coverage.
    """
    allowed = set(alphabet)
    kept = [(w, n) for w, n in word_counts if len(w) <= max_token_length and allowed.issuperset(w)]
    kept.sort(key=rank_key)
    return kept


def assemble(
    learned: Sequence[str], reserved: Sequence[str], alphabet: Sequence[str], vocab_size: int
) -> list[str]:
    """Orders and sizes the learner's output (see the module docstring)."""
    head = list(reserved) + sorted(alphabet)
    taken = set(head)
    pieces = [t for t in learned if t not in taken]
    taken.update(pieces)
    continuations = [JOINER + c for c in sorted(alphabet)]
    pieces += [t for t in continuations if t not in taken]
    excess = len(head) + len(pieces) - vocab_size
    if excess > 0:
        required = set(continuations)
        kept_reversed = []
        for token in reversed(pieces):  # Rarest first.
            if excess > 0 and token not in required:
                excess -= 1
                continue
            kept_reversed.append(token)
        pieces = kept_reversed[::-1]
    tokens = head + pieces
    vocabulary.validate_vocab(tokens, source="the learned vocabulary")
    return tokens


def learn(
    word_counts: Iterable[tuple[str, int]], char_counts: Mapping[str, int], config: VocabConfig
) -> LearnedVocabulary:
    """Learns a WordPiece vocabulary.

    Args:
      word_counts: (normalised word, count) pairs: the most frequent words of the corpus
        (at most `config.max_input_words`), any order.
      char_counts: (character, count) over all words of the corpus.
      config: the learning parameters.

    Returns:
      The tokens in id order (at most `config.vocab_size`), the alphabet and the number of
      words learned from.

    Raises:
      BertpipeError: the vocabulary cannot hold the alphabet, or no word is learnable.
    """
    alphabet = select_alphabet(char_counts, config.max_unique_chars)
    check_budget(config, alphabet)
    words = learner_input(word_counts, alphabet, config.max_token_length)
    if not words:
        raise BertpipeError(
            f"no word of the corpus is at most max_token_length={config.max_token_length} "
            "characters long; check that the corpus is text with spaces between words."
        )
    reserved = config.reserved_tokens()
    learned = wordpiece_tokenizer_learner_lib.learn(
        words,
        vocab_size=config.vocab_size,
        reserved_tokens=reserved,
        lower_thresh=config.min_token_count,
        num_iterations=config.num_iterations,
        max_input_tokens=-1,  # Beam already kept the max_input_words most frequent words.
        max_token_length=config.max_token_length,
        max_unique_chars=len(alphabet),
        slack_ratio=config.slack_ratio,
        include_joiner_token=True,
        joiner=JOINER,
    )
    tokens = assemble(learned, reserved, alphabet, config.vocab_size)
    return LearnedVocabulary(tokens, alphabet, len(words))
