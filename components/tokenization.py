"""The one text normalisation and WordPiece tokenizer that every bertpipe step uses.

The vocabulary learner splits words with `split_words`, the example generator tokenizes
with `WordPieceTokenizer.tokenize`, and the served model's `fill_mask` signature runs the
same TensorFlow ops in-graph, so a word is normalised identically everywhere.

Normalisation follows BERT: every Unicode space becomes " "; `lower_case` case-folds;
`strip_accents` (default: same as `lower_case`, BERT's uncased convention) decomposes to
NFD and drops combining marks.
Word splitting is BERT's basic split: whitespace, then every punctuation character is a
word of its own. Tokenization is tensorflow-text's `FastBertTokenizer` (C++, linear-time
WordPiece) over the normalised text.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf
import tensorflow_text as tf_text
from tensorflow_text.python.ops.bert_tokenizer import BasicTokenizer as _BasicTokenizer

from components import vocabulary
from components.errors import BertpipeError


@dataclasses.dataclass(frozen=True)
class Normalization:
    """How text is normalised before splitting.

    Attributes:
      lower_case: case-fold the text (uncased models).
      strip_accents: NFD-decompose and drop combining marks; None means `lower_case`.
    """

    lower_case: bool = True
    strip_accents: bool | None = None

    @property
    def strips_accents(self) -> bool:
        return self.lower_case if self.strip_accents is None else self.strip_accents


def normalize(texts: tf.Tensor, norm: Normalization) -> tf.Tensor:
    """Normalises a string tensor (any shape) as `norm` says; pure TensorFlow ops."""
    # Every Unicode space (no-break, ideographic, line separator) separates words like " ":
    # otherwise the RE2 split in `split_words` (ASCII \s) and FastBertTokenizer disagree
    # on them, and a learned vocabulary could hold a token that vocab.txt cannot store.
    texts = tf.strings.regex_replace(texts, r"\p{Z}", " ")
    if norm.lower_case:
        texts = tf_text.case_fold_utf8(texts)
    if norm.strips_accents:
        texts = tf_text.normalize_utf8(texts, "NFD")
        texts = tf.strings.regex_replace(texts, r"\p{Mn}", "")
    return texts


def split_words(texts: tf.Tensor, norm: Normalization) -> tf.RaggedTensor:
    """Normalises and splits a 1-D string tensor into words: [batch, (words)]."""
    # BertTokenizer's pre-WordPiece splitter; normalisation is ours, so it does none.
    return _BasicTokenizer(lower_case=False).tokenize(normalize(texts, norm))


class WordPieceTokenizer:
    """BERT WordPiece tokenization of raw text into vocabulary ids.

    Args:
      tokens: the vocabulary in id order (validated: reserved tokens, no duplicates).
      norm: the text normalisation.
      source: what to call the vocabulary in error messages.
    """

    def __init__(self, tokens: list[str], norm: Normalization, source: str = "vocabulary"):
        vocabulary.validate_vocab(tokens, source)
        self.tokens = list(tokens)
        self.norm = norm
        self.ids = {t: i for i, t in enumerate(tokens)}
        self._tokenizer = tf_text.FastBertTokenizer(
            vocab=self.tokens,
            suffix_indicator="##",
            token_out_type=tf.int64,
            unknown_token=vocabulary.UNK,
            lower_case_nfd_strip_accents=False,
        )

    @classmethod
    def from_vocab(cls, vocab: str, norm: Normalization) -> WordPieceTokenizer:
        """Loads `vocab` (a path, a directory with vocab.txt, or a bundled name)."""
        path = vocabulary.resolve_vocab_path(vocab)
        return cls(vocabulary.read_vocab_lines(path), norm, source=path)

    def id_of(self, token: str) -> int:
        if token not in self.ids:
            raise BertpipeError(f"token {token!r} is not in the vocabulary.")
        return self.ids[token]

    def tokenize(self, texts) -> tf.RaggedTensor:
        """Tokenizes a 1-D batch of strings: int64 ids, [batch, (tokens)]."""
        texts = tf.convert_to_tensor(texts, dtype=tf.string)
        ids = self._tokenizer.tokenize(normalize(texts, self.norm))
        # FastBertTokenizer gives [batch, (words), (pieces)]; sentences need a flat list.
        return ids.merge_dims(-2, -1) if ids.ragged_rank == 2 else ids
