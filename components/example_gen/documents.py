"""Corpus files -> buckets of documents with stable ids (pure Python, no Beam, no TFX).

Input format (as BERT's): one sentence per line, a blank line between documents, UTF-8
(a byte-order mark and CRLF line ends are accepted). A line that is not valid UTF-8 is
skipped and counted, never fatal.

The corpus is cut into buckets before anything is read: the matched files, sorted by path,
are laid end to end and split into `ceil(total_bytes / bucket_bytes)` byte ranges of equal
size (`plan_buckets`). A bucket owns every document whose first line starts inside its
ranges and reads past its end to finish its last document, so each document belongs to
exactly one bucket whatever runner, worker count or retry reads it. Document structure is
decided on raw bytes (a line is blank when it holds only ASCII whitespace), so a reader that
starts mid-file agrees with one that read from the start.

A document's id is a 64-bit hash of its text and its byte offset in its file: stable under
any bundling, worker count or file order, and under moving the corpus (local <-> gs://).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from components.errors import BertpipeError

_BOM = b"\xef\xbb\xbf"
_SPACE = b" \t\r\x0b\x0c"  # ASCII whitespace other than the newline.
_BACKSCAN_BLOCK = 256

# Compressed files cannot be cut into byte ranges; ask for plain text instead.
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".zst", ".zip", ".xz", ".deflate", ".lzo", ".snappy")


@dataclasses.dataclass(frozen=True)
class Segment:
    """A byte range of one file: the documents whose first line starts in [start, end)."""

    path: str
    start: int
    end: int


@dataclasses.dataclass(frozen=True)
class Bucket:
    """A unit of work: the documents of its segments share a pool of next-sentence negatives."""

    index: int
    segments: tuple[Segment, ...]

    @property
    def num_bytes(self) -> int:
        return sum(s.end - s.start for s in self.segments)


@dataclasses.dataclass
class Document:
    """One document as read: its sentences (decoded, stripped) and what was skipped.

    Attributes:
      doc_id: 64-bit stable id (hash of the document's text and its byte offset).
      split_key: a second stable hash in [0, 1) that picks the document's split.
      sentences: the non-blank lines, decoded.
      skipped_lines: lines that were not valid UTF-8.
    """

    doc_id: int
    split_key: float
    sentences: list[str]
    skipped_lines: int = 0


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


def check_plain_text(path: str) -> None:
    """Rejects compressed corpus files, which cannot be split into byte ranges."""
    if path.lower().endswith(COMPRESSED_SUFFIXES):
        raise BertpipeError(
            f"corpus file {path!r} is compressed; bertpipe reads plain UTF-8 text files "
            "(one sentence per line, blank line between documents). Decompress it first."
        )


def read_documents(f: BinaryIO, segment: Segment) -> Iterator[Document]:
    """Yields the documents that `segment` owns, reading past its end to finish the last.

    Args:
      f: the segment's file, opened in binary mode and seekable.
      segment: which documents to read.
    """
    pos, prev_blank = _first_line_at_or_after(f, segment.start)
    lines: list[bytes] = []
    doc_offset = -1
    for line in f:
        offset, pos = pos, pos + len(line)
        if not lines and offset >= segment.end:
            return  # Any later document starts in a later segment.
        if offset == 0 and line.startswith(_BOM):
            line = line[len(_BOM) :]
        content = line.strip()
        if not content:  # A blank line ends the open document.
            if lines:
                yield _make_document(lines, doc_offset)
                lines = []
            prev_blank = True
            continue
        if lines:
            lines.append(content)
        elif prev_blank:  # The first line of a document.
            lines, doc_offset = [content], offset
        # Else: the tail of a document that an earlier segment owns.
        prev_blank = False
    if lines:
        yield _make_document(lines, doc_offset)


def _first_line_at_or_after(f: BinaryIO, start: int) -> tuple[int, bool]:
    """Seeks `f` to the first line starting at or after `start`.

    Returns:
      (that line's offset, whether the line before it is blank or absent).
    """
    if start == 0:
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


def _make_document(lines: list[bytes], offset: int) -> Document:
    digest = hashlib.blake2b(offset.to_bytes(8, "little"), digest_size=16)
    sentences, skipped = [], 0
    for line in lines:
        digest.update(line)
        digest.update(b"\n")
        try:
            sentences.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            skipped += 1
    raw = digest.digest()
    return Document(
        doc_id=int.from_bytes(raw[:8], "little"),
        split_key=int.from_bytes(raw[8:], "little") / 2**64,
        sentences=sentences,
        skipped_lines=skipped,
    )
