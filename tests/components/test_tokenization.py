"""Tests for the shared normalisation and WordPiece tokenizer."""

import pytest
import tensorflow as tf

from components import tokenization
from components.errors import BertpipeError

UNCASED = tokenization.Normalization(lower_case=True)
CASED = tokenization.Normalization(lower_case=False)
TINY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "whale", "##s", "cafe", ".", "The"]


def _strings(tensor):
    return [[w.decode() for w in row] for row in tensor.to_list()]


def test_uncased_normalization_folds_case_and_strips_accents():
    out = tokenization.normalize(tf.constant(["Café NAÏVE Ähab"]), UNCASED)
    assert out.numpy()[0].decode() == "cafe naive ahab"


def test_strip_accents_is_independent_of_case_when_given():
    keep_accents = tokenization.Normalization(lower_case=True, strip_accents=False)
    out = tokenization.normalize(tf.constant(["Café"]), keep_accents)
    assert out.numpy()[0].decode() == "café"
    cased_plain = tokenization.Normalization(lower_case=False, strip_accents=True)
    assert tokenization.normalize(tf.constant(["Café"]), cased_plain).numpy()[0] == b"Cafe"


def test_split_words_splits_whitespace_and_each_punctuation_mark():
    words = tokenization.split_words(tf.constant(["The whale's  end—now!", "Café"]), UNCASED)
    assert _strings(words) == [["the", "whale", "'", "s", "end", "—", "now", "!"], ["cafe"]]


def test_tokenize_gives_flat_wordpiece_ids_per_string():
    tok = tokenization.WordPieceTokenizer(TINY, UNCASED)
    ids = tok.tokenize(["The whales.", "Café narwhal"]).to_list()
    assert ids == [[5, 6, 7, 9], [8, 1]]


def test_cased_tokenizer_keeps_case():
    tok = tokenization.WordPieceTokenizer(TINY, CASED)
    assert tok.tokenize(["The the"]).to_list() == [[10, 5]]


def test_bert_base_uncased_tokenizes_like_bert():
    tok = tokenization.WordPieceTokenizer.from_vocab("bert-base-uncased", UNCASED)
    ids = tok.tokenize(["Call me Ishmael."]).to_list()[0]
    assert [tok.tokens[i] for i in ids] == ["call", "me", "is", "##hma", "##el", "."]


def test_tokenizer_rejects_an_invalid_vocabulary():
    with pytest.raises(BertpipeError, match=r"lacks the reserved token\(s\) \[MASK\]"):
        tokenization.WordPieceTokenizer([t for t in TINY if t != "[MASK]"], UNCASED)


def test_unicode_spaces_split_words_like_spaces_in_both_paths():
    # Cased text keeps no-break/ideographic spaces through normalisation unless they are
    # mapped: the word split and FastBertTokenizer must see the same words.
    text = ["a\u00a0b c\u3000d e\u2028f"]
    assert _strings(tokenization.split_words(tf.constant(text), CASED)) == [
        ["a", "b", "c", "d", "e", "f"]
    ]
    letters = list("abcdef")
    tok = tokenization.WordPieceTokenizer(TINY[:5] + letters + ["\u00a0", "##\u00a0"], CASED)
    assert tok.tokenize(text).to_list() == [[5, 6, 7, 8, 9, 10]]
