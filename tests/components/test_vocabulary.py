"""Tests for vocab.txt loading and validation."""

import pytest

from components import vocabulary
from components.errors import BertpipeError

GOOD = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "whale", "##s"]


def _write(tmp_path, lines, name="vocab.txt", newline="\n", bom=False):
    path = tmp_path / name
    text = newline.join(lines) + newline
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return str(path)


def test_load_vocab_reads_tokens_in_id_order(tmp_path):
    assert vocabulary.load_vocab(_write(tmp_path, GOOD)) == GOOD


def test_load_vocab_accepts_crlf_and_bom(tmp_path):
    assert vocabulary.load_vocab(_write(tmp_path, GOOD, newline="\r\n", bom=True)) == GOOD


def test_load_vocab_accepts_a_directory_holding_vocab_txt(tmp_path):
    _write(tmp_path, GOOD)
    assert vocabulary.load_vocab(str(tmp_path)) == GOOD


def test_bundled_bert_base_uncased_is_verified_and_complete():
    tokens = vocabulary.load_vocab("bert-base-uncased")
    assert len(tokens) == 30522
    assert tokens[:1] == ["[PAD]"]
    assert [tokens.index(t) for t in ("[UNK]", "[CLS]", "[SEP]", "[MASK]")] == [100, 101, 102, 103]


@pytest.mark.parametrize(
    "lines,message",
    [
        (GOOD[:4] + GOOD[5:], r"lacks the reserved token\(s\) \[MASK\]"),
        (GOOD + ["whale"], r"line 9 repeats token 'whale' \(first on line 7\)"),
        (["[UNK]", "[PAD]"] + GOOD[2:], r"line 1 is '\[UNK\]' but must be \[PAD\].*line 2"),
        (GOOD[:6] + [""] + GOOD[6:], r"line 7 is empty"),
    ],
)
def test_bad_vocabulary_is_rejected_naming_problem_and_line(tmp_path, lines, message):
    path = _write(tmp_path, lines)
    with pytest.raises(BertpipeError, match=message):
        vocabulary.load_vocab(path)


def test_non_utf8_vocabulary_names_the_line(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_bytes(b"[PAD]\n[UNK]\n\xff\xfe\n")
    with pytest.raises(BertpipeError, match=r"line 3 is not valid UTF-8"):
        vocabulary.load_vocab(str(path))


def test_missing_vocabulary_lists_bundled_names(tmp_path):
    with pytest.raises(BertpipeError, match=r"not found.*bert-base-uncased"):
        vocabulary.load_vocab(str(tmp_path / "nope.txt"))
