"""Tests for corpus bucketing and document reading (documents.py)."""

import io

from components.corpus import documents
from components.corpus.documents import Bucket, Segment

# BOM, CRLF, a whitespace-only separator, an invalid UTF-8 line, several blank lines, a
# document at the very end without a trailing newline.
TRICKY = (
    b"\xef\xbb\xbfFirst doc line one.\r\n"
    b"First doc line two.\r\n"
    b"  \t\r\n"
    b"Second doc \xff\xfe bad bytes.\n"
    b"Second doc good line.\n"
    b"\n\n\n"
    b"Third doc, caf\xc3\xa9.\n"
    b"\n"
    b"Fourth doc has no newline."
)


def _read(data: bytes, start: int, end: int) -> list[documents.Document]:
    return list(documents.read_documents(io.BytesIO(data), Segment("f", start, end)))


def _view(docs):
    return [(d.doc_id, d.sentences, d.skipped_lines) for d in docs]


def test_read_whole_file_gives_documents_sentences_and_skips():
    docs = _read(TRICKY, 0, len(TRICKY))
    assert [d.sentences for d in docs] == [
        ["First doc line one.", "First doc line two."],
        ["Second doc good line."],
        ["Third doc, café."],
        ["Fourth doc has no newline."],
    ]
    assert [d.skipped_lines for d in docs] == [0, 1, 0, 0]
    assert len({d.doc_id for d in docs}) == 4
    assert all(0 <= d.split_key < 1 for d in docs)


def test_every_cut_point_gives_each_document_to_exactly_one_segment():
    whole = _view(_read(TRICKY, 0, len(TRICKY)))
    for cut in range(len(TRICKY) + 1):
        parts = _read(TRICKY, 0, cut) + _read(TRICKY, cut, len(TRICKY))
        assert _view(parts) == whole, cut


def test_three_way_cuts_in_a_file_of_blank_runs_agree_with_the_whole():
    data = b"\n \n\na\nb\n\n\n \nc\n\nd\n \n"
    whole = _view(_read(data, 0, len(data)))
    assert [s for _, s, _ in whole] == [["a", "b"], ["c"], ["d"]]
    for i in range(len(data) + 1):
        for j in range(i, len(data) + 1):
            parts = _read(data, 0, i) + _read(data, i, j) + _read(data, j, len(data))
            assert _view(parts) == whole, (i, j)


def test_bom_only_first_line_counts_as_blank():
    data = b"\xef\xbb\xbf\nonly doc\n"
    for cut in range(len(data) + 1):
        docs = _read(data, 0, cut) + _read(data, cut, len(data))
        assert [d.sentences for d in docs] == [["only doc"]], cut


def test_document_id_depends_on_text_not_on_offset_or_file():
    a = _read(b"x\n\ny\n", 0, 5)
    shifted = _read(b"\n\nx\n\ny\n", 0, 7)
    assert _view(a) == _view(shifted)
    assert a[0].doc_id != a[1].doc_id


def test_document_id_comes_from_the_id_field_when_given():
    by_text = documents.make_document([b"same text"])
    assert documents.make_document([b"same text"]) == by_text
    one, two = documents.make_document([b"same text"], b"1"), documents.make_document([b"x"], b"1")
    assert one.doc_id == two.doc_id != by_text.doc_id


def test_a_100_kb_line_is_one_sentence():
    line = ("word " * 20_000).strip().encode()
    docs = _read(line + b"\n\nshort\n", 0, len(line) + 8)
    assert [len(d.sentences[0]) for d in docs] == [len(line), 5]


def test_plan_cuts_sorted_files_into_equal_byte_ranges():
    plan = documents.plan_buckets([("b", 8), ("empty", 0), ("a", 4)], bucket_bytes=6)
    assert plan == [
        Bucket(0, (Segment("a", 0, 4), Segment("b", 0, 2))),
        Bucket(1, (Segment("b", 2, 8),)),
    ]
    assert [b.num_bytes for b in plan] == [6, 6]


def test_plan_does_not_depend_on_file_order():
    files = [("c", 7), ("a", 13), ("b", 1)]
    assert documents.plan_buckets(files, 5) == documents.plan_buckets(files[::-1], 5)


def test_plan_covers_every_byte_once():
    files = [("a", 13), ("b", 1), ("c", 7)]
    covered = {}
    for bucket in documents.plan_buckets(files, 4):
        for s in bucket.segments:
            for i in range(s.start, s.end):
                covered[s.path, i] = covered.get((s.path, i), 0) + 1
    assert covered == {(p, i): 1 for p, n in files for i in range(n)}


def test_plan_of_empty_files_is_empty():
    assert documents.plan_buckets([("a", 0)], 10) == []
