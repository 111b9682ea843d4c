"""Learn or import a vocabulary into a directory: the work behind VocabGen and `bertpipe vocab`.

Learning runs two Beam pipelines and the learner between them:

1. `count_corpus`: corpus lines -> (word, count) for every distinct word, written to a
   work directory; from the counts, the `max_input_words` most frequent words, the
   character counts, and totals (lines, skipped lines, words, distinct words);
2. learn: tensorflow-text's WordPiece learner on the most frequent words (in this process:
   the learner is single-machine code; its input is bounded by `max_input_words`);
3. `measure_counts`: every counted word tokenized with the result, weighted by its count.

Importing validates a given vocab.txt and, when a corpus is given, runs count + coverage as
one pipeline. Both write `vocab.txt` and `vocab_stats.json` into the output directory.
The caller supplies `make_pipeline` (a TFX executor's Beam pipeline, or one built from the
command line's Beam options), so the same code runs on any Beam runner.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import apache_beam as beam
import tensorflow as tf

from components import configs, vocabulary
from components.artifacts import VOCABULARY_FILENAME, VOCABULARY_STATS_FILENAME
from components.corpus import Corpus
from components.errors import BertpipeError
from components.vocab_gen import learner, transforms
from components.vocab_gen.config import VocabConfig

MODE_LEARNED = "learned"
MODE_IMPORTED = "imported"

MakePipeline = Callable[[], beam.Pipeline]


@dataclasses.dataclass(frozen=True)
class VocabResult:
    """What a build wrote: the tokens, the statistics (as in the JSON) and phase timings."""

    tokens: tuple[str, ...]
    stats: dict[str, Any]
    seconds: dict[str, float]


@dataclasses.dataclass(frozen=True)
class CorpusCounts:
    """The counting pipeline's results: the learner's input and the corpus statistics."""

    stats: dict[str, Any]  # corpus_files, reading, lines, skipped_lines, words (_CORPUS_KEYS)
    top_words: list[tuple[str, int]]  # The max_input_words most frequent words.
    char_counts: dict[str, int]  # Every character, weighted by word counts.
    counts_pattern: str  # Sharded TSV files of every (word, count), in the work directory.


def count_corpus(
    corpus: Corpus | str | Sequence[str],
    config: VocabConfig,
    make_pipeline: MakePipeline,
    work_dir: str,
) -> CorpusCounts:
    """Runs the counting pipeline; its files stay in `work_dir` for the caller to remove.

    Raises:
      BertpipeError: no file matches, or the corpus holds no words.
    """
    read = transforms.ReadCorpus(corpus)
    paths = _WorkFiles.under(work_dir)
    with make_pipeline() as p:
        text = p | "ReadCorpus" >> read
        counted = text["lines"] | "CountWords" >> transforms.CountWords(config.normalization())
        counts = counted["counts"]
        _write_lines(counts, paths.counts, "Counts", sharded=True)
        top = counts | "SelectTopWords" >> transforms.SelectTopWords(config.max_input_words)
        _write_lines(top, paths.top_words, "TopWords")
        _write_lines(counts | "CountChars" >> transforms.CountChars(), paths.chars, "Chars")
        _write_corpus_stats(counted, text["counts"], paths.corpus_stats)
    return CorpusCounts(
        stats=_read_corpus_stats(paths.corpus_stats, read),
        top_words=_read_counts(paths.top_words),
        char_counts=dict(_read_counts(paths.chars)),
        counts_pattern=paths.counts + "*",
    )


def measure_counts(
    counts_pattern: str,
    tokens: Sequence[str],
    config: VocabConfig,
    make_pipeline: MakePipeline,
    work_dir: str,
) -> dict[str, Any]:
    """Tokenizes every counted word with `tokens` in a Beam pipeline: the coverage stats."""
    path = _WorkFiles.under(work_dir).token_stats
    with make_pipeline() as p:
        coverage = (
            p
            | "ReadCounts" >> beam.io.ReadFromText(counts_pattern)
            | "Parse" >> beam.Map(transforms.parse_count)
            | "MeasureCoverage" >> transforms.MeasureCoverage(tokens, config.normalization())
        )
        _write_json(coverage, path, "TokenStats")
    return _coverage(_read_json(path))


def learn_vocabulary(
    corpus: Corpus | str | Sequence[str],
    output_dir: str,
    config: VocabConfig,
    *,
    make_pipeline: MakePipeline = beam.Pipeline,
    work_dir: str | None = None,
) -> VocabResult:
    """Learns a WordPiece vocabulary from the corpus files into `output_dir`.

    Args:
      corpus: a Corpus, or file patterns (a comma-separated string or a list).
      output_dir: where vocab.txt and vocab_stats.json go (created if missing).
      config: the learning parameters.
      make_pipeline: returns a new Beam pipeline (runner and options chosen by the caller).
      work_dir: scratch space every Beam worker can reach, removed afterwards; default
        `<output_dir>/.vocab_gen_work`.

    Raises:
      BertpipeError: no file matches, the corpus holds no words, or `vocab_size` cannot
        hold the corpus's alphabet.
    """
    work_dir = work_dir or default_work_dir(output_dir)
    seconds = {}
    try:
        start = time.perf_counter()
        counts = count_corpus(corpus, config, make_pipeline, work_dir)
        seconds["counting"] = time.perf_counter() - start

        start = time.perf_counter()
        learned = learner.learn(counts.top_words, counts.char_counts, config)
        tokens = learned.tokens
        seconds["learning"] = time.perf_counter() - start

        start = time.perf_counter()
        coverage = measure_counts(counts.counts_pattern, tokens, config, make_pipeline, work_dir)
        seconds["coverage"] = time.perf_counter() - start
    finally:
        _remove(work_dir)

    stats = {
        "mode": MODE_LEARNED,
        "source": Corpus.of(corpus).describe(),
        "vocab_size": len(tokens),
        "parameters": configs.to_dict(config),
        "alphabet_size": len(learned.alphabet),
        # Distinct words the learner read: the most frequent max_input_words, less those
        # too long or with a character outside the alphabet (still counted for coverage).
        "learner_input_words": learned.input_words,
        **counts.stats,
        **coverage,
    }
    write_vocabulary(output_dir, tokens, stats)
    return VocabResult(tuple(tokens), stats, seconds)


def import_vocabulary(
    vocab_uri: str,
    output_dir: str,
    config: VocabConfig,
    *,
    corpus: Corpus | str | Sequence[str] | None = None,
    make_pipeline: MakePipeline = beam.Pipeline,
    work_dir: str | None = None,
) -> VocabResult:
    """Validates and copies a vocabulary into `output_dir`; measures it on `corpus` if given.

    Args:
      vocab_uri: a vocab.txt path, a directory holding one, or `bert-base-uncased`.
      output_dir: where vocab.txt and vocab_stats.json go.
      config: only its normalisation is used (how the corpus is tokenized).
      corpus: optional Corpus or file patterns to measure coverage on.
      make_pipeline: returns a new Beam pipeline.
      work_dir: as for `learn_vocabulary`.

    Raises:
      BertpipeError: the vocabulary is missing or invalid (naming the problem and line).
    """
    path = vocabulary.resolve_vocab_path(vocab_uri)
    tokens = vocabulary.read_vocab_lines(path)
    vocabulary.validate_vocab(tokens, source=path)
    stats = {
        "mode": MODE_IMPORTED,
        "source": vocab_uri,
        "vocab_size": len(tokens),
        "parameters": {"lower_case": config.lower_case, "strip_accents": config.strip_accents},
        **dict.fromkeys(_CORPUS_KEYS),
        **_coverage(None),
    }
    seconds = {}
    if corpus:
        start = time.perf_counter()
        work_dir = work_dir or default_work_dir(output_dir)
        stats.update(_measure_corpus(corpus, tokens, config, make_pipeline, work_dir))
        seconds["coverage"] = time.perf_counter() - start
    write_vocabulary(output_dir, tokens, stats)
    return VocabResult(tuple(tokens), stats, seconds)


def _measure_corpus(corpus, tokens, config, make_pipeline, work_dir) -> dict[str, Any]:
    """Counts the corpus and tokenizes it with `tokens` in one pipeline: the stats."""
    read = transforms.ReadCorpus(corpus)
    norm = config.normalization()
    paths = _WorkFiles.under(work_dir)
    try:
        with make_pipeline() as p:
            text = p | "ReadCorpus" >> read
            counted = text["lines"] | "CountWords" >> transforms.CountWords(norm)
            _write_corpus_stats(counted, text["counts"], paths.corpus_stats)
            coverage = counted["counts"] | "MeasureCoverage" >> transforms.MeasureCoverage(
                tokens, norm
            )
            _write_json(coverage, paths.token_stats, "TokenStats")
        return {
            **_read_corpus_stats(paths.corpus_stats, read),
            **_coverage(_read_json(paths.token_stats)),
        }
    finally:
        _remove(work_dir)


def write_vocabulary(output_dir: str, tokens: Sequence[str], stats: dict[str, Any]) -> None:
    """Writes vocab.txt (one token a line) and vocab_stats.json, then reads them back."""
    tf.io.gfile.makedirs(output_dir)
    vocab_path = os.path.join(output_dir, VOCABULARY_FILENAME)
    with tf.io.gfile.GFile(vocab_path, "w") as f:
        f.write("".join(t + "\n" for t in tokens))
    with tf.io.gfile.GFile(os.path.join(output_dir, VOCABULARY_STATS_FILENAME), "w") as f:
        f.write(json.dumps(stats, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    # What a consumer will read must be what we meant to write.
    if vocabulary.load_vocab(vocab_path) != list(tokens):
        raise RuntimeError(f"{vocab_path} does not read back as the tokens written")


_CORPUS_KEYS = (
    "corpus_files",
    "input_format",
    "reading",
    "lines",
    "skipped_lines",
    "total_words",
    "distinct_words",
)


@dataclasses.dataclass(frozen=True)
class _WorkFiles:
    """Scratch files of one build, under a directory every Beam worker can reach."""

    counts: str  # A prefix: sharded word_counts-*.tsv.
    top_words: str
    chars: str
    corpus_stats: str
    token_stats: str

    @classmethod
    def under(cls, work_dir: str) -> _WorkFiles:
        join = os.path.join
        return cls(
            counts=join(work_dir, "word_counts"),
            top_words=join(work_dir, "top_words.tsv"),
            chars=join(work_dir, "char_counts.tsv"),
            corpus_stats=join(work_dir, "corpus_stats.json"),
            token_stats=join(work_dir, "token_stats.json"),
        )


def _write_lines(pcoll, path: str, label: str, sharded: bool = False) -> None:
    lines = pcoll | f"Format{label}" >> beam.Map(transforms.format_count)
    if sharded:
        lines | f"Write{label}" >> beam.io.WriteToText(path, file_name_suffix=".tsv")
    else:
        lines | f"Write{label}" >> beam.io.WriteToText(path, num_shards=1, shard_name_template="")


def _write_json(pcoll, path: str, label: str) -> None:
    (
        pcoll
        | f"Json{label}" >> beam.Map(lambda t: json.dumps(t._asdict()))
        | f"Write{label}" >> beam.io.WriteToText(path, num_shards=1, shard_name_template="")
    )


def _write_corpus_stats(counted, read_counts, path: str) -> None:
    distinct = counted["counts"] | "CountDistinct" >> beam.combiners.Count.Globally()
    stats = counted["stats"] | "AddDistinct" >> beam.Map(
        lambda s, n, r: {**s._asdict(), "distinct_words": n, "reading": r},
        n=beam.pvalue.AsSingleton(distinct),
        r=beam.pvalue.AsSingleton(read_counts),
    )
    (
        stats
        | "JsonCorpusStats" >> beam.Map(json.dumps)
        | "WriteCorpusStats" >> beam.io.WriteToText(path, num_shards=1, shard_name_template="")
    )


def _read_json(path: str) -> dict[str, Any]:
    with tf.io.gfile.GFile(path) as f:
        return json.loads(f.read())


def _read_counts(path: str) -> list[tuple[str, int]]:
    with tf.io.gfile.GFile(path, "rb") as f:
        lines = f.read().decode("utf-8").split("\n")
    return [transforms.parse_count(line) for line in lines if line]


def _read_corpus_stats(path: str, read: transforms.ReadCorpus) -> dict[str, Any]:
    raw = _read_json(path)
    reading = raw["reading"]
    # The reader skips lines that are not UTF-8 inside documents; they count as lines read.
    skipped = raw["skipped_lines"] + reading["skipped_lines"]
    lines = raw["lines"] + reading["skipped_lines"]
    if raw["words"] == 0:
        bad = {k: v for k, v in reading.items() if v and k not in ("records", "documents")}
        raise BertpipeError(
            f"corpus {read.corpus.describe()!r} holds no words ({len(read.files)} files, "
            f"{lines} lines, {skipped} not UTF-8, bad records {bad}); give "
            "UTF-8 text, and check input_format and text_field."
        )
    return {
        "corpus_files": len(read.files),
        "input_format": read.corpus.format.input_format,
        "reading": reading,
        "lines": lines,
        "skipped_lines": skipped,
        "total_words": raw["words"],
        "distinct_words": raw["distinct_words"],
    }


def _coverage(token_stats: dict[str, int] | None) -> dict[str, Any]:
    if token_stats is None:
        return {"total_tokens": None, "unk_tokens": None, "coverage": None}
    total, unk = token_stats["tokens"], token_stats["unk_tokens"]
    return {
        "total_tokens": total,
        "unk_tokens": unk,
        "coverage": (total - unk) / total if total else None,
    }


def default_work_dir(output_dir: str) -> str:
    """Scratch space beside the output: `<output_dir>/.vocab_gen_work`, removed afterwards."""
    return os.path.join(output_dir, ".vocab_gen_work")


def _remove(path: str) -> None:
    if tf.io.gfile.exists(path):
        tf.io.gfile.rmtree(path)
