"""Tests for VocabGen's Beam transforms and the pure functions behind them."""

import collections

import apache_beam as beam
import pytest
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to

from components import tokenization
from components.errors import BertpipeError
from components.vocab_gen import transforms

UNCASED = tokenization.Normalization(lower_case=True)
LINES = [b"The whale's end.", b"\xff\xfe not UTF-8", b"", b"Caf\xc3\xa9 the WHALE"]
EXPECTED_COUNTS = {"the": 2, "whale": 2, "'": 1, "s": 1, "end": 1, ".": 1, "cafe": 1}
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "whale", "##s", "cafe", ".", "'"]


def test_count_words_normalises_splits_and_skips_invalid_utf8():
    counts, stats = transforms.count_words(LINES, UNCASED)
    assert counts == collections.Counter(EXPECTED_COUNTS)
    assert stats == transforms.LineStats(lines=4, skipped_lines=1, words=9)


def test_count_words_keeps_case_when_cased():
    counts, _ = transforms.count_words([b"The the THE"], tokenization.Normalization(False))
    assert counts == {"The": 1, "the": 1, "THE": 1}


def test_count_words_transform_sums_exactly_across_batches():
    lines = LINES * 50
    with test_pipeline.TestPipeline() as p:
        counted = p | beam.Create(lines) | transforms.CountWords(UNCASED)
        expected = [(w, n * 50) for w, n in EXPECTED_COUNTS.items()]
        assert_that(counted["counts"], equal_to(expected), label="Counts")
        assert_that(counted["stats"], equal_to([transforms.LineStats(200, 50, 450)]), label="Stats")


def test_count_words_transform_gives_zero_stats_for_no_lines():
    with test_pipeline.TestPipeline() as p:
        counted = p | beam.Create([], reshuffle=False).with_output_types(bytes)
        counted = counted | transforms.CountWords(UNCASED)
        assert_that(counted["counts"], equal_to([]), label="Counts")
        assert_that(counted["stats"], equal_to([transforms.LineStats()]), label="Stats")


def test_count_chars_weights_each_character_by_word_count():
    with test_pipeline.TestPipeline() as p:
        chars = p | beam.Create([("aab", 2), ("b", 5)]) | transforms.CountChars()
        assert_that(chars, equal_to([("a", 4), ("b", 7)]))


def test_select_top_words_breaks_ties_by_word():
    counts = [("b", 2), ("a", 2), ("c", 2), ("d", 1), ("e", 9)]
    with test_pipeline.TestPipeline() as p:
        top = p | beam.Create(counts) | transforms.SelectTopWords(3)
        assert_that(top, equal_to([("e", 9), ("c", 2), ("b", 2)]))


def test_count_tokens_weights_wordpieces_and_unk_by_count():
    tokenizer = tokenization.WordPieceTokenizer(VOCAB, UNCASED)
    # whales -> whale ##s (2 tokens); narwhal -> [UNK] (1 token).
    stats = transforms.count_tokens([("whales", 3), ("narwhal", 2), ("the", 5)], tokenizer)
    assert stats == transforms.TokenStats(tokens=3 * 2 + 2 + 5, unk_tokens=2)


def test_measure_coverage_equals_tokenizing_the_lines_directly():
    text = [line for line in LINES if line != b"\xff\xfe not UTF-8"] + [b"narwhal whales"]
    tokenizer = tokenization.WordPieceTokenizer(VOCAB, UNCASED)
    ids = tokenizer.tokenize(text).flat_values.numpy().tolist()
    expected = transforms.TokenStats(len(ids), ids.count(VOCAB.index("[UNK]")))
    with test_pipeline.TestPipeline() as p:
        counted = p | beam.Create(text) | transforms.CountWords(UNCASED)
        coverage = counted["counts"] | transforms.MeasureCoverage(VOCAB, UNCASED)
        assert_that(coverage, equal_to([expected]))


def test_measure_coverage_rejects_an_invalid_vocabulary_at_construction():
    with pytest.raises(BertpipeError, match=r"lacks the reserved token\(s\) \[MASK\]"):
        transforms.MeasureCoverage([t for t in VOCAB if t != "[MASK]"], UNCASED)


def test_read_corpus_reads_each_matched_file_once(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"one\ntwo\n")
    (tmp_path / "b.txt").write_bytes(b"three\n")
    (tmp_path / "sub.txt").mkdir()
    patterns = f"{tmp_path}/*.txt,{tmp_path}/a.txt"
    read = transforms.ReadCorpus(patterns)
    assert read.files == [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]
    with test_pipeline.TestPipeline() as p:
        out = p | read
        assert_that(out["lines"], equal_to(["one", "two", "three"]), label="Lines")
        documents = out["counts"] | beam.Map(lambda c: c["documents"])
        assert_that(documents, equal_to([2]), label="Counts")


def test_read_corpus_names_a_pattern_that_matches_nothing(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(BertpipeError, match=r"corpus glob '.*/missing-\*\.txt' matches no"):
        transforms.ReadCorpus([str(tmp_path / "a.txt"), str(tmp_path / "missing-*.txt")])
    with pytest.raises(BertpipeError, match="non-empty list of file globs"):
        transforms.ReadCorpus(" , ")


def test_word_counts_round_trip_through_tsv():
    item = ("caf\u00e9", 12)
    assert transforms.parse_count(transforms.format_count(item)) == item
