"""Tests for the shared driver: outputs beside the splits and every kind of bad input."""

import json

import apache_beam as beam
import pytest
import tensorflow as tf

from components import configs
from components.errors import BertpipeError
from components.example_gen import ExampleGenConfig, layout
from components.example_gen.run import run_example_gen
from tests.components.example_gen.helpers import TOKENS, parse, unmasked, write_vocab

CONFIG = ExampleGenConfig(seq_length=16, max_predictions_per_seq=2, dupe_factor=2)


def _no_pipeline():
    raise AssertionError("the pipeline must not start for bad input")


def _run(corpus, vocab, output_dir, config=CONFIG):
    return run_example_gen(corpus, vocab, config, str(output_dir), beam.Pipeline)


def test_bad_lines_empty_files_and_a_100_kb_line_are_counted_not_lost(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "empty.txt").write_bytes(b"")
    long_line = b" ".join([b"the dog ran"] * 10_000)  # 110 kB on one line
    (corpus / "mixed.txt").write_bytes(
        b"\xef\xbb\xbfThe cat sat.\r\nThe dog ran.\r\n\r\n"  # BOM + CRLF
        b"A b \xff\xfe c.\nA b.\n\n" + long_line + b"\n\nC d.\n"  # one invalid UTF-8 line, skipped
    )
    vocab = write_vocab(tmp_path)
    summary = _run([str(corpus / "*.txt")], vocab, tmp_path / "out")
    stats = summary.stats
    assert stats["files"] == 2 and stats["empty_files"] == 1
    total = stats["total"]
    assert total["documents"] == 4 and total["skipped_lines"] == 1
    assert total["tokens"] == 4 + 4 + 3 + 30_000 + 3
    records = []
    for split in layout.SPLIT_NAMES:
        files = layout.data_files(str(tmp_path / "out"), split)
        records += [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]
    ids = unmasked(parse(records, 16, 2))
    dog_ran_rows = [r for r in ids.tolist() if r[1:4] in ([11, 13, 5], [13, 5, 11], [5, 11, 13])]
    assert len(dog_ran_rows) >= 2  # The long line's document made examples in both passes.
    assert len(records) == summary.instances


def test_outputs_carry_the_exact_vocabulary_and_config(tmp_path):
    (tmp_path / "c.txt").write_text("The cat sat.\nThe dog ran.\n\nA b.\nC d.\n")
    vocab = write_vocab(tmp_path)
    _run([str(tmp_path / "c.txt")], vocab, tmp_path / "out")
    out = tmp_path / "out"
    assert (out / "vocab.txt").read_bytes() == (tmp_path / "vocab.txt").read_bytes()
    text = (out / "example_gen_config.json").read_text()
    assert configs.from_json(ExampleGenConfig, text) == CONFIG
    assert layout.read_config(str(out)) == CONFIG
    assert json.loads((out / "stats.json").read_text())["total"]["instances"] > 0
    layout.check_outputs(str(out))


def test_a_one_sentence_corpus_is_a_clear_error(tmp_path):
    (tmp_path / "one.txt").write_text("The cat sat.\n")
    with pytest.raises(BertpipeError, match=r"no example.*at least two"):
        _run([str(tmp_path / "one.txt")], write_vocab(tmp_path), tmp_path / "out")


def test_a_vocabulary_without_mask_fails_before_the_pipeline(tmp_path):
    (tmp_path / "c.txt").write_text("The cat.\n\nA b.\n")
    (tmp_path / "vocab.txt").write_text("\n".join(t for t in TOKENS if t != "[MASK]") + "\n")
    with pytest.raises(BertpipeError, match=r"lacks the reserved token\(s\) \[MASK\]"):
        run_example_gen(
            [str(tmp_path / "c.txt")], str(tmp_path), CONFIG, str(tmp_path / "o"), _no_pipeline
        )


def test_a_glob_matching_nothing_fails_before_the_pipeline(tmp_path):
    with pytest.raises(BertpipeError, match=r"corpus glob '.*/missing/\*.txt' matches no file"):
        run_example_gen(
            [str(tmp_path / "missing" / "*.txt")],
            write_vocab(tmp_path),
            CONFIG,
            str(tmp_path / "o"),
            _no_pipeline,
        )


def test_a_corpus_of_empty_files_fails_before_the_pipeline(tmp_path):
    (tmp_path / "a.txt").write_text("")
    with pytest.raises(BertpipeError, match=r"has no text: all 1 matched files are empty"):
        run_example_gen(
            [str(tmp_path / "a.txt")], write_vocab(tmp_path), CONFIG, str(tmp_path / "o"),
            _no_pipeline,
        )  # fmt: skip
