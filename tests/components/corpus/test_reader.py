"""Tests for planning and reading corpora in every format (components/corpus/reader.py)."""

import gzip
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from components.corpus import Corpus, CorpusFormat, jsonl, reader
from components.corpus.documents import FILE, ROWS, Segment, empty_counts
from components.errors import BertpipeError
from tests.components.corpus.helpers import FORMATS, whales_documents, write_corpus


def _read_all(corpus: Corpus, bucket_bytes: int, chunk_bytes: int = 1 << 30):
    files = reader.match_files(corpus)
    buckets = reader.plan_corpus(corpus, files, bucket_bytes)
    counts = empty_counts()
    docs = [
        (d.doc_id, d.split_key, d.sentences)
        for b in buckets
        for _, chunk in reader.read_chunks(b, corpus.format, chunk_bytes, counts)
        for d in chunk
    ]
    return docs, counts, buckets


@pytest.mark.parametrize("name, input_format", FORMATS)
def test_every_format_gives_the_documents_of_the_bert_layout(tmp_path, name, input_format):
    docs = whales_documents()
    bert = Corpus((write_corpus(tmp_path, "bert.txt", docs),))
    expected, _, _ = _read_all(bert, 1 << 20)
    assert [s for _, _, s in expected] == docs
    corpus = Corpus((write_corpus(tmp_path, name, docs),), CorpusFormat(input_format))
    for bucket_bytes in (1 << 20, 300):  # One bucket; many byte ranges or row groups.
        got, counts, _ = _read_all(corpus, bucket_bytes)
        assert got == expected, bucket_bytes
        assert counts["documents"] == len(docs)
        assert counts["records"] == (0 if name.endswith(".txt") else len(docs))


def test_jsonl_bad_records_are_counted_by_kind(tmp_path):
    lines = [
        b'{"text": "Good one."}',
        b"not json at all",
        b"[1, 2]",
        b'{"body": "no text field"}',
        b'{"text": null}',
        b'{"text": 42}',
        b'{"text": " \\n\\t "}',
        b'{"text": "caf\xff bad bytes"}',
        b"",
        b'{"text": "Good two.\\nSecond line."}',
    ]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    docs, counts, _ = _read_all(Corpus((str(path),)), 1 << 20)
    assert [s for _, _, s in docs] == [["Good one."], ["Good two.", "Second line."]]
    assert counts == {
        "records": 9,
        "documents": 2,
        "skipped_lines": 0,
        "undecodable_records": 1,
        "invalid_json": 2,
        "missing_text": 2,
        "non_string_text": 1,
        "empty_records": 1,
    }


def test_jsonl_every_cut_point_reads_each_record_once():
    data = b'{"text": "a"}\n\n{"text": "b"}\n{"text": "c"}\n'
    counts = empty_counts()

    def read(start, end):
        f = io.BytesIO(data)
        return [u for u, _ in jsonl.read_jsonl(f, Segment("f", start, end), "text", "", counts)]

    for cut in range(len(data) + 1):
        assert read(0, cut) + read(cut, len(data)) == [[b"a"], [b"b"], [b"c"]], cut


def test_text_layout_undecodable_lines_are_counted(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes(b"Good line.\nBad \xff line.\n\nOther doc.\n")
    docs, counts, _ = _read_all(Corpus((str(path),)), 1 << 20)
    assert [s for _, _, s in docs] == [["Good line."], ["Other doc."]]
    assert (counts["documents"], counts["skipped_lines"]) == (2, 1)


def test_parquet_null_text_is_counted_and_bad_columns_fail_up_front(tmp_path):
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"text": ["One.", None, "", "Two."], "n": [1, 2, 3, 4]}), path)
    docs, counts, _ = _read_all(Corpus((str(path),)), 1 << 20)
    assert [s for _, _, s in docs] == [["One."], ["Two."]]
    assert (counts["records"], counts["missing_text"], counts["empty_records"]) == (4, 1, 1)
    with pytest.raises(BertpipeError, match=r"has no column 'body' \(columns: text, n\)"):
        _read_all(Corpus((str(path),), CorpusFormat(text_field="body")), 1 << 20)
    with pytest.raises(BertpipeError, match=r"column 'n' is int64, expected a string column"):
        _read_all(Corpus((str(path),), CorpusFormat(text_field="n")), 1 << 20)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("a.txt.gz", b"plain text\n", r"'.*a.txt.gz' is not a gzip file: it starts with b'plain"),
        ("a.txt", gzip.compress(b"x\n"), r"starts like a gzip file but .* say bert text"),
        ("a.parquet", b"text\n", r"is not a Parquet file \(starting with PAR1\)"),
        ("a.jsonl", b"plain text\n", r"is not JSON lines"),
        ("a.jsonl.zst", b"{}\n", r"is not a zstd file"),
        ("a.txt.zip", b"PK", r"compressed in a format bertpipe does not read"),
        ("a.parquet.gz", gzip.compress(b"PAR1"), r"remove the gzip layer"),
    ],
)
def test_a_file_that_is_not_what_its_extension_says_fails_up_front(
    tmp_path, name, content, message
):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(BertpipeError, match=message):
        reader.match_files(Corpus((str(tmp_path / name),)))


def test_directories_and_overlapping_globs_match_each_file_once(tmp_path):
    (tmp_path / "a.txt").write_text("x\n")
    (tmp_path / "b.jsonl").write_text('{"text": "y"}\n')
    (tmp_path / "sub").mkdir()
    files = reader.match_files(Corpus((str(tmp_path), str(tmp_path / "*.txt"))))
    assert [(f.path, f.format) for f in files] == [
        (str(tmp_path / "a.txt"), "bert"),
        (str(tmp_path / "b.jsonl"), "jsonl"),
    ]
    with pytest.raises(BertpipeError, match=r"corpus glob '.*/none-\*' matches no file"):
        reader.match_files(Corpus((str(tmp_path / "none-*"),)))


def test_plan_gives_a_compressed_file_one_bucket_and_packs_row_groups(tmp_path):
    docs = whales_documents()
    corpus = Corpus(
        (write_corpus(tmp_path, "c.jsonl.gz", docs), write_corpus(tmp_path, "c.parquet", docs))
    )
    _, _, buckets = _read_all(corpus, 1)
    kinds = [(b.index, [(s.kind, s.start, s.end) for s in b.segments]) for b in buckets]
    size = (tmp_path / "c.jsonl.gz").stat().st_size
    assert kinds == [(0, [(FILE, 0, size)]), (1, [(ROWS, 0, 1)]), (2, [(ROWS, 1, 2)])]
    _, _, one = _read_all(corpus, 1 << 30)
    assert [[(s.kind, s.start, s.end) for s in b.segments] for b in one][1] == [(ROWS, 0, 2)]


def test_a_compressed_bucket_is_read_in_bounded_chunks(tmp_path):
    docs = whales_documents()
    corpus = Corpus((write_corpus(tmp_path, "c.jsonl.gz", docs),))
    (bucket,) = reader.plan_corpus(corpus, reader.match_files(corpus), 1 << 20)
    chunks = list(reader.read_chunks(bucket, corpus.format, 400, empty_counts()))
    assert [k for k, _ in chunks] == list(range(len(chunks))) and len(chunks) > 2
    assert [d.sentences for _, c in chunks for d in c] == docs
    for _, chunk in chunks[:-1]:  # A chunk ends with the document that reaches 400 chars.
        sizes = [sum(map(len, d.sentences)) for d in chunk]
        assert sum(sizes[:-1]) < 400 <= sum(sizes)


def test_id_field_gives_the_document_id(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(
        "".join(json.dumps({"id": "x", "text": t}) + "\n" for t in ("One.", "Two.")),
        encoding="utf-8",
    )
    by_id, _, _ = _read_all(Corpus((str(path),), CorpusFormat(id_field="id")), 1 << 20)
    by_text, _, _ = _read_all(Corpus((str(path),)), 1 << 20)
    assert by_id[0][0] == by_id[1][0] and by_text[0][0] != by_text[1][0]


def test_paragraphs_are_split_into_sentences_unless_told_not_to(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("Mr. Ahab came. He left at 3.30 pm!\n\nOne doc.\n", encoding="utf-8")
    split, _, _ = _read_all(Corpus((str(path),), CorpusFormat("paragraphs")), 1 << 20)
    assert [s for _, _, s in split] == [["Mr. Ahab came.", "He left at 3.30 pm!"], ["One doc."]]
    kept = Corpus((str(path),), CorpusFormat("paragraphs", split_sentences=False))
    assert [s for _, _, s in _read_all(kept, 1 << 20)[0]][0] == [
        "Mr. Ahab came. He left at 3.30 pm!"
    ]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"input_format": "csv"}, "input_format must be one of auto, bert, paragraphs, jsonl"),
        ({"text_field": " "}, "text_field must name the JSON field or Parquet column"),
        ({"split_sentences": "yes"}, "split_sentences must be true, false or null"),
    ],
)
def test_corpus_format_rejects_bad_settings(kwargs, message):
    with pytest.raises(BertpipeError, match=message):
        CorpusFormat(**kwargs)
