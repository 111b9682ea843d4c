"""Tests for the sample corpora: sentence splitting, the file format and fetching."""

import dataclasses
import io

import pytest

from components.errors import BertpipeError
from pipelines import corpora


def test_split_sentences_keeps_abbreviations_and_closing_quotes():
    text = 'Call me Ishmael.  Mr. Starbuck said "Aye!" Then he\nleft? Yes. e.g. this one.'
    assert corpora.split_sentences(text) == [
        "Call me Ishmael.",
        'Mr. Starbuck said "Aye!"',
        "Then he left?",
        "Yes. e.g. this one.",
    ]


def test_split_sentences_of_blank_text_is_empty():
    assert corpora.split_sentences(" \n\t") == []


def test_write_documents_separates_documents_by_one_blank_line_and_skips_empty():
    out = io.StringIO()
    n = corpora.write_documents([["A one.", "A two."], [], ["  "], ["B one."]], out)
    assert n == 2
    assert out.getvalue() == "A one.\nA two.\n\nB one.\n"


@pytest.mark.slow
def test_fetch_moby_dick_verifies_converts_and_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("BERTPIPE_CACHE", str(tmp_path))
    path = corpora.fetch("moby-dick")
    assert path == str(tmp_path / "corpora" / "moby-dick.txt")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    documents = text.split("\n\n")
    assert len(documents) == 136  # 135 chapters and the epilogue.
    assert documents[0].splitlines()[:2] == ["Loomings.", "Call me Ishmael."]
    assert "The drama's done." in documents[-1].splitlines()
    assert corpora.fetch("moby-dick") == path  # Cached: no second download.


@pytest.mark.slow
def test_fetch_rejects_a_checksum_mismatch_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("BERTPIPE_CACHE", str(tmp_path))
    wrong = dataclasses.replace(corpora.SOURCES["moby-dick"], sha256="0" * 64)
    monkeypatch.setitem(corpora.SOURCES, "moby-dick", wrong)
    with pytest.raises(BertpipeError, match=r"has sha256 e85647c5.*expected 0000"):
        corpora.fetch("moby-dick")
    assert not (tmp_path / "corpora" / "moby-dick.txt").exists()


def test_unknown_corpus_lists_available_names():
    with pytest.raises(BertpipeError, match=r"unknown corpus 'nope'; available: brown, moby-dick"):
        corpora.fetch("nope")
