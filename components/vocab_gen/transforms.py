"""Beam transforms that count a corpus's words and measure a vocabulary's coverage.

Counting uses plain Beam combiners, not tf.Transform analyzers. `tft.vocabulary` is itself a
per-key sum plus a top-k inside Beam, but reaching it costs a TF graph per batch, a schema,
a TFXIO adapter and an analyzer cache, and it yields a ranked token file, not the exact
(word, count) pairs and totals that the learner and the statistics need. Here each batch of
lines is split by the shared TensorFlow ops (`components.tokenization.split_words`) and
pre-counted in the worker (Zipf's law: a batch of 1,000 lines has a few thousand distinct
words), then `CombinePerKey(sum)` merges the partial counts: a lifted combiner whose
shuffle carries distinct words, not occurrences. That scales like any word count, to
Dataflow, and the sums are exact integers, so the counts never depend on the worker count.

Pure functions (`count_words`, `count_tokens`) hold the logic and are tested without Beam.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from typing import NamedTuple

import apache_beam as beam
import numpy as np
import tensorflow as tf

from components import tokenization, vocabulary
from components.corpus import Corpus
from components.corpus import beam as corpus_beam

_NAMESPACE = "vocab_gen"
# Lines per TensorFlow call: large enough to amortise the op dispatch, small enough that a
# batch's distinct words stay a few thousand.
_MAX_BATCH = 1024


class LineStats(NamedTuple):
    """What counting read: lines, lines skipped as not UTF-8, and words."""

    lines: int = 0
    skipped_lines: int = 0
    words: int = 0


class TokenStats(NamedTuple):
    """WordPiece tokens of the corpus, and how many of them are `[UNK]`."""

    tokens: int = 0
    unk_tokens: int = 0


def count_words(
    lines: Sequence[bytes | str], norm: tokenization.Normalization
) -> tuple[collections.Counter, LineStats]:
    """Counts the normalised words of a batch of lines.

    Args:
      lines: lines of text (str, as the corpus reader gives them, or raw bytes: those that
        are not UTF-8 are skipped and counted).
      norm: the normalisation (the same the tokenizer uses).

    Returns:
      A Counter of words (str) and the batch's LineStats.
    """
    texts = []
    for line in lines:
        if isinstance(line, bytes):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                continue
        texts.append(line)
    skipped = len(lines) - len(texts)
    if not texts:
        return collections.Counter(), LineStats(len(lines), skipped, 0)
    words = tokenization.split_words(tf.constant(texts), norm).flat_values.numpy()
    raw = collections.Counter(words.tolist())
    counts = collections.Counter({w.decode("utf-8"): n for w, n in raw.items()})
    return counts, LineStats(len(lines), skipped, len(words))


def count_tokens(
    word_counts: Sequence[tuple[str, int]], tokenizer: tokenization.WordPieceTokenizer
) -> TokenStats:
    """WordPiece tokens and `[UNK]` tokens that the counted words make, weighted by count."""
    if not word_counts:
        return TokenStats()
    words = [w for w, _ in word_counts]
    counts = np.array([n for _, n in word_counts], dtype=np.int64)
    ids = tokenizer.tokenize(words)
    lengths = ids.row_lengths().numpy()
    is_unk = tf.cast(tf.equal(ids, tokenizer.id_of(vocabulary.UNK)), tf.int64)
    unk = tf.reduce_sum(is_unk, axis=1)
    return TokenStats(int(lengths @ counts), int(unk.numpy() @ counts))


def format_count(item: tuple[str, int]) -> str:
    """(word, count) -> 'word<TAB>count'. Words never hold whitespace (they are split on it)."""
    return f"{item[0]}\t{item[1]}"


def parse_count(line: str) -> tuple[str, int]:
    word, count = line.rsplit("\t", 1)
    return word, int(count)


class _SumTuples(beam.CombineFn):
    """Element-wise sum of NamedTuples; the zero tuple for an empty input."""

    def __init__(self, tuple_type: type):
        self._type = tuple_type

    def create_accumulator(self):
        return self._type()

    def add_input(self, acc, value):
        return self._type(*(a + b for a, b in zip(acc, value)))

    def merge_accumulators(self, accs):
        total = self._type()
        for acc in accs:
            total = self.add_input(total, acc)
        return total

    def extract_output(self, acc):
        return acc


class _CountWordsFn(beam.DoFn):
    STATS = "stats"

    def __init__(self, norm: tokenization.Normalization):
        self._norm = norm
        self._lines = beam.metrics.Metrics.counter(_NAMESPACE, "lines")
        self._skipped = beam.metrics.Metrics.counter(_NAMESPACE, "skipped_lines_not_utf8")
        self._words = beam.metrics.Metrics.counter(_NAMESPACE, "words")

    def process(self, lines):
        counts, stats = count_words(lines, self._norm)
        self._lines.inc(stats.lines)
        self._skipped.inc(stats.skipped_lines)
        self._words.inc(stats.words)
        yield from counts.items()
        yield beam.pvalue.TaggedOutput(self.STATS, stats)


class ReadCorpus(beam.PTransform):
    """A corpus -> {'lines': its non-blank lines (str), 'counts': the summed read counts}.

    The corpus reader's Beam source (components.corpus.beam): the globs are listed and the
    files checked when this transform is constructed.
    """

    def __init__(self, corpus: Corpus | str | Sequence[str]):
        super().__init__()
        self.corpus = Corpus.of(corpus)
        self._read = corpus_beam.ReadCorpusLines(self.corpus)
        self.files = [f.path for f in self._read.files]

    def expand(self, pbegin):
        read = pbegin | "ReadLines" >> self._read
        counts = read[corpus_beam.COUNTS] | "SumReadCounts" >> beam.CombineGlobally(
            corpus_beam.SumCountsFn()
        )
        return {"lines": read.lines, "counts": counts}


class CountWords(beam.PTransform):
    """Lines (bytes) -> {'counts': (word, count) per distinct word, 'stats': one LineStats}."""

    def __init__(self, norm: tokenization.Normalization):
        super().__init__()
        self._norm = norm

    def expand(self, lines):
        split = (
            lines
            | "Batch" >> beam.BatchElements(min_batch_size=16, max_batch_size=_MAX_BATCH)
            | "Split"
            >> beam.ParDo(_CountWordsFn(self._norm)).with_outputs(
                _CountWordsFn.STATS, main="counts"
            )
        )
        return {
            "counts": split.counts | "Sum" >> beam.CombinePerKey(sum),
            "stats": split.stats | "SumStats" >> beam.CombineGlobally(_SumTuples(LineStats)),
        }


class CountChars(beam.PTransform):
    """(word, count) -> (character, count): the corpus's character frequencies."""

    def expand(self, word_counts):
        return (
            word_counts
            | "Chars" >> beam.FlatMap(lambda wc: ((c, wc[1]) for c in wc[0]))
            | "Sum" >> beam.CombinePerKey(sum)
        )


def _top_key(item: tuple[str, int]) -> tuple[int, str]:
    # A total order, so which words tie at the cut-off never depends on bundling.
    return item[1], item[0]


class SelectTopWords(beam.PTransform):
    """(word, count) -> the `n` most frequent, ties broken by the word (deterministic)."""

    def __init__(self, n: int):
        super().__init__()
        self._n = n

    def expand(self, word_counts):
        return (
            word_counts
            | "Top" >> beam.combiners.Top.Of(self._n, key=_top_key)
            | "Unpack" >> beam.FlatMap(lambda top: top)
        )


class _CountTokensFn(beam.DoFn):
    def __init__(self, tokens: Sequence[str], norm: tokenization.Normalization):
        self._tokens = list(tokens)
        self._norm = norm
        self._tokenizer = None

    def setup(self):
        self._tokenizer = tokenization.WordPieceTokenizer(self._tokens, self._norm)

    def process(self, word_counts):
        yield count_tokens(word_counts, self._tokenizer)


class MeasureCoverage(beam.PTransform):
    """(word, count) -> one TokenStats: the corpus tokenized with `tokens`."""

    def __init__(self, tokens: Sequence[str], norm: tokenization.Normalization):
        super().__init__()
        vocabulary.validate_vocab(list(tokens), source="the measured vocabulary")
        self._tokens = list(tokens)
        self._norm = norm

    def expand(self, word_counts):
        return (
            word_counts
            | "Batch" >> beam.BatchElements(min_batch_size=16, max_batch_size=4096)
            | "Tokenize" >> beam.ParDo(_CountTokensFn(self._tokens, self._norm))
            | "Sum" >> beam.CombineGlobally(_SumTuples(TokenStats))
        )
