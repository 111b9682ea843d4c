"""Tests for learning and importing vocabularies into a directory (Beam DirectRunner)."""

import collections
import json
import os

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from components import tokenization, vocabulary
from components.errors import BertpipeError
from components.vocab_gen import VocabConfig, builder, learner

UNCASED = tokenization.Normalization()
# Learn on the first 1,500 lines of Moby-Dick, hold out its last 1,500.
TRAIN_LINES, HELD_OUT_LINES = 1500, 1500
LEARN_CONFIG = VocabConfig(vocab_size=1000, num_unused=3)


@pytest.fixture(scope="module")
def learned(tmp_path_factory, moby_lines):
    """(train lines, output dir, result) of one learned vocabulary, shared by the tests."""
    root = tmp_path_factory.mktemp("learned")
    train = moby_lines[:TRAIN_LINES]
    corpus = root / "train.txt"
    corpus.write_text("\n".join(train) + "\n", encoding="utf-8")
    out = str(root / "vocab")
    return train, out, builder.learn_vocabulary(str(corpus), out, LEARN_CONFIG)


def _read_stats(out):
    with open(os.path.join(out, "vocab_stats.json"), encoding="utf-8") as f:
        return json.load(f)


def test_learned_vocabulary_starts_with_reserved_tokens_then_unused(learned):
    _, out, result = learned
    tokens = vocabulary.load_vocab(out)
    assert tokens == list(result.tokens)
    assert tokens[:8] == [*vocabulary.RESERVED_TOKENS, "[unused0]", "[unused1]", "[unused2]"]
    assert len(tokens) <= LEARN_CONFIG.vocab_size
    assert not os.path.exists(os.path.join(out, ".vocab_gen_work"))


def test_learned_vocabulary_tokenizes_held_out_text_with_under_1_percent_unk(learned, moby_lines):
    _, _, result = learned
    held_out = [line for line in moby_lines[-HELD_OUT_LINES:] if line.strip()]
    tokenizer = tokenization.WordPieceTokenizer(list(result.tokens), UNCASED)
    ids = tokenizer.tokenize(held_out).flat_values.numpy()
    assert len(ids) > 30_000
    assert (ids == tokenizer.id_of(vocabulary.UNK)).mean() < 0.01


def test_learned_stats_equal_a_direct_count_and_tokenization(learned):
    train, out, result = learned
    words = tokenization.split_words(train, UNCASED).flat_values.numpy().tolist()
    counts = collections.Counter(words)
    tokenizer = tokenization.WordPieceTokenizer(list(result.tokens), UNCASED)
    ids = tokenizer.tokenize(train).flat_values.numpy().tolist()
    unk = ids.count(tokenizer.id_of(vocabulary.UNK))
    stats = _read_stats(out)
    assert stats == result.stats
    assert stats["mode"] == "learned" and stats["source"].endswith("train.txt")
    assert stats["parameters"]["vocab_size"] == LEARN_CONFIG.vocab_size
    assert stats["vocab_size"] == len(result.tokens)
    non_blank = sum(1 for line in train if line.strip())  # Blank lines separate documents.
    assert (stats["corpus_files"], stats["lines"], stats["skipped_lines"]) == (1, non_blank, 0)
    starts = [
        i for i, line in enumerate(train) if line.strip() and not (i and train[i - 1].strip())
    ]
    assert stats["reading"]["documents"] == len(starts)
    assert stats["total_words"] == len(words)
    assert stats["distinct_words"] == len(counts)
    assert (stats["total_tokens"], stats["unk_tokens"]) == (len(ids), unk)
    assert stats["coverage"] == (len(ids) - unk) / len(ids)
    assert stats["alphabet_size"] == len({c for w in counts for c in w.decode()})
    assert stats["learner_input_words"] == len(counts)  # None too long, none with rare chars.
    assert set(result.seconds) == {"counting", "learning", "coverage"}


def test_learned_vocabulary_counts_lines_that_are_not_utf8(tmp_path, small_corpus, moby_lines):
    with open(small_corpus, "ab") as f:
        f.write(b"caf\xe9 latin-1\n\xff\n")
    result = builder.learn_vocabulary(small_corpus, str(tmp_path / "v"), VocabConfig(500))
    non_blank = sum(1 for line in moby_lines[:300] if line.strip())
    assert (result.stats["lines"], result.stats["skipped_lines"]) == (non_blank + 2, 2)


def test_cased_vocabulary_keeps_capitals(tmp_path, small_corpus):
    result = builder.learn_vocabulary(
        small_corpus, str(tmp_path / "v"), VocabConfig(500, lower_case=False)
    )
    assert "I" in result.tokens and "Ishmael" not in result.stats["source"]
    assert result.stats["parameters"]["lower_case"] is False


@pytest.mark.slow
def test_learning_is_deterministic_across_worker_counts_and_file_splits(tmp_path, moby_lines):
    lines = moby_lines[:600]
    single = tmp_path / "one.txt"
    single.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "part-b.txt").write_text("\n".join(lines[:250]) + "\n", encoding="utf-8")
    (tmp_path / "part-a.txt").write_text("\n".join(lines[250:]) + "\n", encoding="utf-8")
    # Many ties at low counts: the learner's cut-offs must not depend on arrival order.
    config = VocabConfig(vocab_size=400, min_token_count=2)
    results = []
    for workers, corpus in ((1, str(single)), (2, str(tmp_path / "part-*.txt"))):
        flags = [f"--direct_num_workers={workers}", "--direct_running_mode=multi_processing"]
        # The counting pipeline is where workers differ; the learner runs in this process.
        counts = builder.count_corpus(
            corpus,
            config,
            lambda f=flags: beam.Pipeline(options=PipelineOptions(f)),
            str(tmp_path / f"work-{workers}"),
        )
        results.append((counts, learner.learn(counts.top_words, counts.char_counts, config)))
    (counts_1, learned_1), (counts_2, learned_2) = results
    assert counts_1.top_words == counts_2.top_words
    assert counts_1.char_counts == counts_2.char_counts
    assert learned_1.tokens == learned_2.tokens
    assert len(learned_1.tokens) > 300


def test_learning_names_a_glob_that_matches_nothing(tmp_path):
    with pytest.raises(BertpipeError, match=r"corpus glob '.*nope/\*\.txt' matches no file"):
        builder.learn_vocabulary(str(tmp_path / "nope/*.txt"), str(tmp_path / "v"), VocabConfig())


def test_learning_rejects_an_empty_corpus(tmp_path):
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(BertpipeError, match=r"holds no words \(1 files, 0 lines"):
        builder.learn_vocabulary(str(tmp_path / "empty.txt"), str(tmp_path / "v"), VocabConfig())
    assert not os.path.exists(tmp_path / "v" / ".vocab_gen_work")


def test_learning_rejects_a_vocab_size_below_reserved_plus_alphabet(tmp_path, small_corpus):
    with pytest.raises(BertpipeError, match=r"vocab_size 60 is too small for this corpus"):
        builder.learn_vocabulary(small_corpus, str(tmp_path / "v"), VocabConfig(vocab_size=60))


def test_import_bert_base_uncased_copies_it_and_measures_coverage(tmp_path, small_corpus):
    out = str(tmp_path / "v")
    result = builder.import_vocabulary("bert-base-uncased", out, VocabConfig(), corpus=small_corpus)
    with open(vocabulary.resolve_vocab_path("bert-base-uncased"), "rb") as f:
        bundled = f.read()
    with open(os.path.join(out, "vocab.txt"), "rb") as f:
        assert f.read() == bundled
    stats = _read_stats(out)
    assert (stats["mode"], stats["source"], stats["vocab_size"]) == (
        "imported",
        "bert-base-uncased",
        30522,
    )
    tokenizer = tokenization.WordPieceTokenizer.from_vocab("bert-base-uncased", UNCASED)
    with open(small_corpus, encoding="utf-8") as f:
        ids = tokenizer.tokenize(f.read().split("\n")).flat_values.numpy().tolist()
    assert stats["total_tokens"] == len(ids) == result.stats["total_tokens"]
    assert stats["unk_tokens"] == ids.count(tokenizer.id_of(vocabulary.UNK))


def test_import_without_corpus_writes_stats_without_coverage(tmp_path):
    vocab = tmp_path / "my_vocab.txt"
    vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n##s\n", encoding="utf-8")
    result = builder.import_vocabulary(str(vocab), str(tmp_path / "v"), VocabConfig())
    assert result.tokens[5:] == ("the", "##s")
    stats = _read_stats(str(tmp_path / "v"))
    assert stats["coverage"] is None and stats["total_words"] is None
    assert stats["vocab_size"] == 7


@pytest.mark.parametrize(
    "lines, message",
    [
        (
            ["[PAD]", "[UNK]", "[CLS]", "the", "[SEP]", "the", "[MASK]"],
            "line 6 repeats token 'the'",
        ),
        (["[UNK]", "[PAD]", "[CLS]", "[SEP]", "[MASK]"], "line 1 is '\\[UNK\\]' but must be"),
        (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"], r"lacks the reserved token\(s\) \[MASK\]"),
        (["[PAD]", "[UNK]", "", "[CLS]", "[SEP]", "[MASK]"], "line 3 is empty"),
    ],
)
def test_import_rejects_a_bad_vocabulary_naming_problem_and_line(tmp_path, lines, message):
    vocab = tmp_path / "bad.txt"
    vocab.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(BertpipeError, match=message):
        builder.import_vocabulary(str(vocab), str(tmp_path / "v"), VocabConfig())
    assert not os.path.exists(tmp_path / "v")
