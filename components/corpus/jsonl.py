"""JSON lines: one document per line, its text in a field (pure Python).

A bucket owns the lines that start in its byte range (as Beam's text source does), so a
file is read in parallel and every line is read exactly once. Bad records are counted in
`counts` (see `components.corpus.reader.READ_COUNTS`) and skipped, never fatal: a line that
is not UTF-8 (`undecodable_records`), not a JSON object (`invalid_json`), without the text
field or with null (`missing_text`), with a non-string text (`non_string_text`), or with
no non-blank line of text (`empty_records`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import BinaryIO

from components.corpus.documents import BYTES, Segment


def read_jsonl(
    f: BinaryIO, segment: Segment, text_field: str, id_field: str, counts: dict[str, int]
) -> Iterator[tuple[list[bytes], bytes | None]]:
    """Yields (the text's stripped non-blank lines, the id field or None) per good record."""
    for line in _owned_lines(f, segment):
        if not line.strip():
            continue
        counts["records"] += 1
        record = parse_record(line, text_field, id_field, counts)
        if record is not None:
            yield record


def parse_record(
    line: bytes, text_field: str, id_field: str, counts: dict[str, int]
) -> tuple[list[bytes], bytes | None] | None:
    """One JSON line -> (text lines, id) or None, counting why a record is skipped."""
    try:
        obj = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        counts["undecodable_records"] += 1
        return None
    except ValueError:
        counts["invalid_json"] += 1
        return None
    if not isinstance(obj, dict):
        counts["invalid_json"] += 1
        return None
    return text_units(obj.get(text_field), obj.get(id_field) if id_field else None, counts)


def text_units(text, doc_id, counts: dict[str, int]) -> tuple[list[bytes], bytes | None] | None:
    """A record's text and id -> (stripped non-blank lines as UTF-8, id bytes) or None."""
    if text is None:
        counts["missing_text"] += 1
        return None
    if not isinstance(text, str):
        counts["non_string_text"] += 1
        return None
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:  # A lone surrogate from a JSON \\ud800 escape.
        counts["undecodable_records"] += 1
        return None
    units = [u for u in (line.strip() for line in encoded.split(b"\n")) if u]
    if not units:
        counts["empty_records"] += 1
        return None
    key = None if doc_id is None else str(doc_id).encode("utf-8", "surrogatepass")
    return units, key


def _owned_lines(f: BinaryIO, segment: Segment) -> Iterator[bytes]:
    """The lines that start in the segment's byte range (all lines of a whole-file one)."""
    if segment.kind != BYTES or segment.start == 0:
        pos, end = 0, (segment.end if segment.kind == BYTES else math.inf)
        if f.seekable():
            f.seek(0)
    else:
        f.seek(segment.start - 1)
        pos, end = segment.start - 1 + len(f.readline()), segment.end
    for line in f:
        if pos >= end:
            return
        pos += len(line)
        yield line
