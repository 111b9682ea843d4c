"""Tests for the WordPiece learner wrapper (pure Python, no Beam)."""

import collections
import random

import pytest

from components.errors import BertpipeError
from components.vocab_gen import VocabConfig, learner

WORDS = {
    "the": 400,
    "whale": 120,
    "whales": 60,
    "ship": 80,
    "ships": 40,
    "sea": 90,
    "harpoon": 30,
    "harpooneer": 12,
    ".": 300,
    ",": 250,
}
CONFIG = VocabConfig(vocab_size=60, num_unused=2, min_token_count=2)


def _char_counts(word_counts):
    chars = collections.Counter()
    for word, n in word_counts.items():
        for c in word:
            chars[c] += n
    return dict(chars)


def _learn(words=WORDS, config=CONFIG, chars=None):
    return learner.learn(list(words.items()), chars or _char_counts(words), config).tokens


def test_learn_orders_reserved_unused_alphabet_then_pieces():
    tokens = _learn()
    alphabet = sorted(_char_counts(WORDS))
    assert tokens[:7] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[unused0]", "[unused1]"]
    assert tokens[7 : 7 + len(alphabet)] == alphabet
    assert "the" in tokens and "whale" in tokens
    assert len(tokens) <= CONFIG.vocab_size


def test_learn_keeps_every_alphabet_character_and_its_continuation():
    # 'q' only occurs in words beyond the learner's input (counted by Beam over all words).
    chars = {**_char_counts(WORDS), "q": 1}
    learned = learner.learn(list(WORDS.items()), chars, CONFIG)
    assert learned.alphabet == sorted(chars)
    assert learned.input_words == len(WORDS)
    for c in chars:
        assert c in learned.tokens and "##" + c in learned.tokens


def test_learn_does_not_depend_on_input_order():
    items = list(WORDS.items())
    random.Random(7).shuffle(items)
    assert learner.learn(items, _char_counts(WORDS), CONFIG).tokens == _learn()


def test_select_alphabet_keeps_most_frequent_ties_by_character_and_no_whitespace():
    counts = {"a": 5, "c": 3, "b": 3, "d": 1, "\u00a0": 9}
    assert learner.select_alphabet(counts, 3) == ["a", "b", "c"]


def test_learner_input_drops_long_words_and_unknown_characters_and_sorts():
    words = [("ab", 2), ("ba", 5), ("abc", 9), ("abz", 9), ("aa", 5)]
    assert learner.learner_input(words, ["a", "b", "c"], max_token_length=2) == [
        ("aa", 5),
        ("ba", 5),
        ("ab", 2),
    ]


def test_assemble_trims_rarest_pieces_but_never_a_character_continuation():
    reserved = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    learned = [*reserved, "a", "b", "ab", "ba", "##a", "aa", "##b"]
    tokens = learner.assemble(learned, reserved, ["a", "b"], vocab_size=11)
    assert tokens == [*reserved, "a", "b", "ab", "ba", "##a", "##b"]


def test_check_budget_names_the_size_needed():
    with pytest.raises(BertpipeError, match="need 29. Raise vocab_size to at least 29"):
        learner.check_budget(VocabConfig(vocab_size=20), list("abcdefghijkl"))


def test_learn_rejects_a_corpus_without_learnable_words():
    config = VocabConfig(vocab_size=50, max_token_length=3)
    with pytest.raises(BertpipeError, match="no word of the corpus is at most"):
        learner.learn([("whales", 3)], _char_counts({"whales": 3}), config)
