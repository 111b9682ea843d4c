"""Tests for `bertpipe vocab`: learn, import, Beam flags and one-line errors."""

import json
import os

import pytest

from components import vocabulary
from pipelines import cli


def _stats(out):
    with open(os.path.join(out, "vocab_stats.json"), encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture
def corpus(tmp_path):
    # A tiny corpus: the command, not the learner, is under test.
    path = tmp_path / "corpus.txt"
    path.write_text("Call me Ishmael.\nSome years ago, never mind how long.\n\nThe whale!\n" * 20)
    return str(path)


def test_vocab_learns_and_prints_a_summary(tmp_path, corpus, capsys):
    out = str(tmp_path / "out")
    args = ["vocab", "--corpus", corpus, "--output", out, "--vocab-size", "200"]
    code = cli.main([*args, "--num-unused", "2", "--set", "min_token_count=2"])
    assert code == 0
    printed = capsys.readouterr().out.splitlines()
    stats = _stats(out)
    assert printed[0] == f"learned {stats['vocab_size']} tokens from {corpus}"
    assert (
        printed[1] == "corpus: 1 files, 21 documents, 60 lines (0 skipped as not UTF-8), "
        "320 words, 15 distinct"
    )
    assert printed[2].startswith("coverage: 100.0000% of ")
    assert printed[-1] == f"wrote {out}/vocab.txt and vocab_stats.json"
    assert stats["parameters"]["num_unused"] == 2 and stats["parameters"]["min_token_count"] == 2
    assert vocabulary.load_vocab(out)[5:7] == ["[unused0]", "[unused1]"]


def test_vocab_passes_beam_flags_to_the_pipeline(tmp_path, corpus):
    out = str(tmp_path / "out")
    beam_flags = ["--runner=DirectRunner", "--direct_running_mode=in_memory"]
    assert cli.main(["vocab", "--corpus", corpus, "--output", out, "--cased", *beam_flags]) == 0
    assert _stats(out)["parameters"]["lower_case"] is False


def test_vocab_imports_bert_base_uncased(tmp_path, capsys):
    out = str(tmp_path / "out")
    assert cli.main(["vocab", "--import", "bert-base-uncased", "--output", out]) == 0
    assert len(vocabulary.load_vocab(out)) == 30522
    assert capsys.readouterr().out.startswith("imported 30,522 tokens from bert-base-uncased\n")


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--vocab-sise", "9"], "unknown option --vocab-sise: neither a bertpipe vocab option"),
        (["--import", "bert-base-uncased", "--vocab-size", "900"], "--import skips learning"),
        (["--vocab-size", "6"], "vocab_size 6 is smaller than the 5 reserved tokens"),
        (["--set", "max_unique_char=5"], "did you mean 'max_unique_chars'"),
    ],
)
def test_vocab_reports_mistakes_in_one_line(tmp_path, corpus, capsys, extra, message):
    assert cli.main(["vocab", "--corpus", corpus, "--output", str(tmp_path), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bertpipe: error: ") and err.count("\n") == 1
    assert message in err


def test_vocab_import_names_the_bad_line(tmp_path, capsys):
    bad = tmp_path / "vocab.txt"
    bad.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nsea\nsea\n")
    assert cli.main(["vocab", "--import", str(bad), "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"{bad} line 7 repeats token 'sea' (first on line 6)" in err


def test_vocab_without_corpus_or_import_says_what_to_give(tmp_path, capsys):
    assert cli.main(["vocab", "--output", str(tmp_path)]) == 2
    assert "give --corpus GLOB to learn a vocabulary, or --import FILE" in capsys.readouterr().err


def test_commands_without_beam_reject_unknown_flags(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["corpus", "list", "--direct_num_workers=2"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --direct_num_workers=2" in capsys.readouterr().err


def test_vocab_says_why_it_learned_fewer_tokens_than_asked(tmp_path, corpus, capsys):
    out = str(tmp_path / "out")
    assert cli.main(["vocab", "--corpus", corpus, "--output", out, "--vocab-size", "5000"]) == 0
    printed = capsys.readouterr().out.splitlines()
    stats = _stats(out)
    assert stats["vocab_size"] < 5000
    notes = [line for line in printed if line.startswith("note: ")]
    assert notes == [
        f"note: {stats['vocab_size']:,} of the 5,000 tokens asked for (--vocab-size): no other "
        "piece occurs min_token_count=10 times in this corpus (320 words, 15 distinct); give a "
        "larger corpus or lower it with --set min_token_count=N."
    ]


def test_vocab_refuses_a_non_empty_output_unless_replace(tmp_path, corpus, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "vocab.txt").write_text("[PAD]\n")
    args = ["vocab", "--corpus", corpus, "--output", str(out), "--vocab-size", "200"]
    assert cli.main(args) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"bertpipe: error: output directory {out} already holds 1 entry")
    assert (out / "vocab.txt").read_text() == "[PAD]\n"
    assert cli.main([*args, "--replace"]) == 0
    assert sorted(os.listdir(out)) == ["vocab.txt", "vocab_stats.json"]
    assert len(vocabulary.load_vocab(str(out))) == _stats(str(out))["vocab_size"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_vocab_failing_run_leaves_no_output(tmp_path, capsys):
    blank = tmp_path / "blank.txt"
    blank.write_text("\n\n  \n")
    out = tmp_path / "out"
    assert cli.main(["vocab", "--corpus", str(blank), "--output", str(out)]) == 2
    assert capsys.readouterr().err.startswith("bertpipe: error: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blank.txt"]
