"""Documents, segments and buckets, and the byte-range reader of text layouts (pure Python).

Text layouts (`bert`: one sentence per line; `paragraphs`: one paragraph per line): a blank
line between documents, UTF-8 (a byte-order mark and CRLF line ends are accepted); a file
with no blank line is one document. A line that is not valid UTF-8 is skipped and counted.

An uncompressed corpus is cut into buckets before anything is read: the matched files,
sorted by path, are laid end to end and split into `ceil(total_bytes / bucket_bytes)` byte
ranges of equal size (`plan_buckets`). A bucket owns every document whose first line starts
inside its ranges and reads past its end to finish its last document, so each document
belongs to exactly one bucket whatever runner, worker count or retry reads it. Document
structure is decided on raw bytes (a line is blank when it holds only ASCII whitespace), so
a reader that starts mid-file agrees with one that read from the start.

A document's id is a 64-bit hash of its sentences (of its id field, when the corpus names one):
stable under any bundling, worker count, file order or input format, so the same documents
give the same draws whether they arrive as BERT layout, JSON lines or Parquet. Two
identical documents share an id (and so their draws).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO

_BOM = b"\xef\xbb\xbf"
_SPACE = b" \t\r\x0b\x0c"  # ASCII whitespace other than the newline.
_BACKSCAN_BLOCK = 256

BYTES, FILE, ROWS = "bytes", "file", "rows"  # What a segment's [start, end) counts.

# What reading counts (reported in stats.json and vocab_stats.json, and as Beam counters).
READ_COUNTS: tuple[str, ...] = (
    "records",  # JSON lines and Parquet rows read (text layouts: 0).
    "documents",  # Documents handed on.
    "skipped_lines",  # Text lines that are not UTF-8 (skipped inside their document).
    "undecodable_records",  # JSON lines that are not UTF-8.
    "invalid_json",  # JSON lines that are not a JSON object.
    "missing_text",  # Records without the text field, or with null.
    "non_string_text",  # Records whose text field is not a string.
    "empty_records",  # Records whose text has no non-blank line.
)


def empty_counts() -> dict[str, int]:
    """A zero for each of `READ_COUNTS`."""
    return dict.fromkeys(READ_COUNTS, 0)


@dataclasses.dataclass(frozen=True)
class Segment:
    """A part of one file: the documents that start in it.

    Attributes:
      path: the file.
      start, end: a byte range (`kind` bytes), row groups [start, end) of a Parquet file
        (`rows`), or the whole file (`file`: compressed, read as one stream; end = size).
      kind: one of `bytes`, `rows`, `file`.
      num_bytes: bytes of the file this segment stands for (bucket sizing).
    """

    path: str
    start: int
    end: int
    kind: str = BYTES
    num_bytes: int = -1

    @property
    def size(self) -> int:
        return self.num_bytes if self.num_bytes >= 0 else self.end - self.start


@dataclasses.dataclass(frozen=True)
class Bucket:
    """A unit of work: the documents of its segments share a pool of next-sentence negatives."""

    index: int
    segments: tuple[Segment, ...]

    @property
    def num_bytes(self) -> int:
        return sum(s.size for s in self.segments)


@dataclasses.dataclass
class Document:
    """One document as read: its sentences (decoded, stripped) and what was skipped.

    Attributes:
      doc_id: 64-bit stable id (hash of the document's text or id field).
      split_key: a second stable hash in [0, 1) that picks the document's split.
      sentences: the non-blank lines (or, when splitting, their sentences), decoded.
      skipped_lines: lines that were not valid UTF-8.
    """

    doc_id: int
    split_key: float
    sentences: list[str]
    skipped_lines: int = 0


Splitter = Callable[[str], list[str]]


def make_document(units: list[bytes], key: bytes | None = None, split: Splitter | None = None):
    """Builds a Document from its stripped, non-blank lines (raw bytes).

    Args:
      units: the document's lines; a line that is not UTF-8 is skipped and counted.
      key: the document's id field, if the corpus has one; else the text is hashed.
      split: splits a decoded line into sentences; None keeps one sentence per line.
    """
    sentences, skipped = [], 0
    for unit in units:
        try:
            text = unit.decode("utf-8")
        except UnicodeDecodeError:
            skipped += 1
            continue
        if split is None:
            sentences.append(text)
        else:
            sentences.extend(split(text))
    if key is None:
        # The sentences, not the raw lines: a paragraph and its split sentences agree.
        digest = hashlib.blake2b(digest_size=16)
        for sentence in sentences:
            digest.update(sentence.encode("utf-8", "surrogatepass"))
            digest.update(b"\n")
    else:
        digest = hashlib.blake2b(b"id\0" + key, digest_size=16)
    raw = digest.digest()
    return Document(
        doc_id=int.from_bytes(raw[:8], "little"),
        split_key=int.from_bytes(raw[8:], "little") / 2**64,
        sentences=sentences,
        skipped_lines=skipped,
    )


def plan_buckets(files: Sequence[tuple[str, int]], bucket_bytes: int) -> list[Bucket]:
    """Cuts files into buckets of about `bucket_bytes` each.

    Args:
      files: (path, size in bytes) of every corpus file; order does not matter.
      bucket_bytes: the target bucket size.

    Returns:
      The buckets, numbered from 0; empty files get no segment.
    """
    files = sorted((path, size) for path, size in set(files) if size > 0)
    total = sum(size for _, size in files)
    if total == 0:
        return []
    count = max(1, math.ceil(total / bucket_bytes))
    cuts = [total * k // count for k in range(count + 1)]
    buckets, file_start, f = [], 0, 0
    for k in range(count):
        lo, hi = cuts[k], cuts[k + 1]
        segments = []
        while f < len(files) and lo < hi:
            path, size = files[f]
            start, end = lo - file_start, min(hi - file_start, size)
            if start < end:
                segments.append(Segment(path, start, end))
            if hi - file_start >= size:  # This file is done; the next starts after it.
                file_start += size
                f += 1
                lo = file_start
            else:
                break
        buckets.append(Bucket(k, tuple(segments)))
    return buckets


def read_documents(f: BinaryIO, segment: Segment, split: Splitter | None = None):
    """Yields the documents of a text layout that `segment` owns (see the module docstring)."""
    for lines in read_text_units(f, segment):
        yield make_document(lines, split=split)


def read_text_units(f: BinaryIO, segment: Segment) -> Iterator[list[bytes]]:
    """Yields the lines (stripped bytes) of each document that `segment` owns.

    Args:
      f: the segment's file opened in binary mode: seekable for a `bytes` segment; any
        stream, at its start, for a `file` segment (which owns every document).
      segment: which documents to read.
    """
    end = segment.end if segment.kind == BYTES else math.inf
    pos, prev_blank = _first_line_at_or_after(f, segment.start if segment.kind == BYTES else 0)
    lines: list[bytes] = []
    for line in f:
        offset, pos = pos, pos + len(line)
        if not lines and offset >= end:
            return  # Any later document starts in a later segment.
        if offset == 0 and line.startswith(_BOM):
            line = line[len(_BOM) :]
        content = line.strip()
        if not content:  # A blank line ends the open document.
            if lines:
                yield lines
                lines = []
            prev_blank = True
            continue
        if lines or prev_blank:
            lines.append(content)
        # Else: the tail of a document that an earlier segment owns.
        prev_blank = False
    if lines:
        yield lines


def _first_line_at_or_after(f: BinaryIO, start: int) -> tuple[int, bool]:
    """Seeks `f` to the first line starting at or after `start`.

    Returns:
      (that line's offset, whether the line before it is blank or absent).
    """
    if start == 0:
        if f.seekable():
            f.seek(0)
        return 0, True
    f.seek(start - 1)
    pos = start - 1 + len(f.readline())
    blank = _line_before_is_blank(f, pos)
    f.seek(pos)
    return pos, blank


def _line_before_is_blank(f: BinaryIO, pos: int) -> bool:
    """Whether the line ending just before `pos` (its newline at pos-1) is blank."""
    end = pos - 1  # Scan back from the byte before that newline.
    while end > 0:
        start = max(0, end - _BACKSCAN_BLOCK)
        f.seek(start)
        block = f.read(end - start)
        for i in range(len(block) - 1, -1, -1):
            byte = block[i : i + 1]
            if byte == b"\n":
                return True
            if byte not in _SPACE:
                # Only a byte-order mark may precede the spaces of a blank first line.
                return start + i < len(_BOM) and _head_is_bom(f)
        end = start
    return True


def _head_is_bom(f: BinaryIO) -> bool:
    f.seek(0)
    return f.read(len(_BOM)) == _BOM
