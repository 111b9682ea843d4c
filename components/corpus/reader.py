"""The corpus reader: globs -> checked files -> buckets -> documents (no TFX; Beam's filesystems).

Planning (`plan_corpus`, before any pipeline runs) lists the files (globs and directories,
local or any Beam filesystem such as gs://), checks each one's first bytes against its
format and compression, and cuts the corpus into buckets:

- uncompressed text and JSON lines: byte ranges of `bucket_bytes` across the sorted files;
- Parquet: consecutive row groups of a file, about `bucket_bytes` (uncompressed) each;
- a compressed file: one bucket, read as one stream (gzip, bzip2 and zstd cannot be cut).

Reading (`read_chunks`) gives a bucket's documents in file order. A bucket of Parquet row
groups or of a compressed file is read in chunks of about `chunk_bytes` of text, so memory
stays bounded whatever the file's size. Planning and chunking depend only on the files, so
the documents of each chunk are the same for 1 or N workers. Bad records are counted by
name in a `counts` dict (`READ_COUNTS`), never fatal.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

from apache_beam.io.filesystem import BeamIOError, CompressionTypes
from apache_beam.io.filesystems import FileSystems

from components.corpus import documents, formats, jsonl, parquet
from components.corpus.config import Corpus, CorpusFormat
from components.corpus.documents import (  # noqa: F401 (READ_COUNTS, empty_counts: API)
    BYTES,
    FILE,
    READ_COUNTS,
    ROWS,
    Bucket,
    Document,
    Segment,
    empty_counts,
)
from components.corpus.sentences import split_sentences
from components.errors import BertpipeError

_GLOB_CHARS = "*?["


@dataclasses.dataclass(frozen=True)
class CorpusFile:
    """One matched file: its size, format and compression (None: uncompressed)."""

    path: str
    size: int
    format: str
    compression: str | None


def match_files(corpus: Corpus) -> list[CorpusFile]:
    """Every file the corpus names, sorted and checked (see `formats.check_file`).

    Raises:
      BertpipeError: a glob matches no file, a listing fails, or a file is not what its
        extension or the input format says.
    """
    found: dict[str, int] = {}
    for pattern in corpus.patterns:
        for path, size in _match(pattern).items():
            found[path] = size
    files = []
    for path, size in sorted(found.items()):
        compression = formats.compression_of(path)
        fmt = formats.format_of(path, corpus.format.input_format)
        if size:
            formats.check_file(path, fmt, compression, _head(path))
        files.append(CorpusFile(path, size, fmt, compression))
    return files


def _head(path: str) -> bytes:
    """The first bytes of `path`; an unreadable file or a directory is one clear error."""
    try:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
            return f.read(formats.HEAD_BYTES)
    except (OSError, BeamIOError) as e:
        reason = getattr(e, "strerror", None) or str(e).splitlines()[0][:200]
        raise BertpipeError(
            f"cannot read corpus file {path!r} ({reason}); fix its permissions, or leave it "
            "(or the directory it is in) out of the corpus globs."
        ) from None


def _match(pattern: str) -> dict[str, int]:
    local = "://" not in pattern
    name = os.path.expanduser(pattern) if local else pattern
    if local and os.path.isdir(name):
        name = os.path.join(name, "*")
    elif not local and name.endswith("/"):
        name += "*"
    found = _list(name, pattern)
    if not found and not local and not any(c in name for c in _GLOB_CHARS):
        found = _list(name.rstrip("/") + "/*", pattern)  # A gs:// "directory" prefix.
    if not found:
        raise BertpipeError(
            f"corpus glob {pattern!r} matches no file; check the path (a glob or a "
            "directory, local or gs://)."
        )
    return found


def _list(name: str, pattern: str) -> dict[str, int]:
    try:
        metadata = FileSystems.match([name])[0].metadata_list
    except (BeamIOError, ValueError) as e:  # Unreachable bucket; unknown scheme.
        raise BertpipeError(f"cannot list corpus glob {pattern!r}: {e}") from None
    return {m.path: m.size_in_bytes for m in metadata if not m.path.endswith("/")}


def plan_corpus(corpus: Corpus, files: list[CorpusFile], bucket_bytes: int) -> list[Bucket]:
    """Cuts the checked files into numbered buckets (see the module docstring)."""
    splittable = [(f.path, f.size) for f in files if _splittable(f)]
    buckets = documents.plan_buckets(splittable, bucket_bytes)
    whole: list[tuple[Segment, ...]] = []
    for f in files:
        if f.size == 0 or _splittable(f):
            continue
        if f.compression is not None:
            whole.append((Segment(f.path, 0, f.size, FILE),))
            continue
        with FileSystems.open(f.path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
            sizes = parquet.row_group_sizes(
                raw, f.path, corpus.format.text_field, corpus.format.id_field
            )
        whole.extend(_pack_row_groups(f.path, sizes, bucket_bytes))
    n = len(buckets)
    return buckets + [Bucket(n + i, segments) for i, segments in enumerate(whole)]


def _splittable(f: CorpusFile) -> bool:
    return f.compression is None and f.format != formats.PARQUET


def _pack_row_groups(path: str, sizes: list[int], bucket_bytes: int) -> list[tuple[Segment]]:
    packed, start, total = [], 0, 0
    for i, size in enumerate(sizes):
        total += size
        if total >= bucket_bytes or i == len(sizes) - 1:
            packed.append((Segment(path, start, i + 1, ROWS, total),))
            start, total = i + 1, 0
    return packed


def read_chunks(
    bucket: Bucket, corpus_format: CorpusFormat, chunk_bytes: int, counts: dict[str, int]
) -> Iterator[tuple[int, list[Document]]]:
    """Yields (chunk number, documents) for a bucket: one chunk, or several for a bucket of
    whole compressed files or row groups (a new one after `chunk_bytes` of text)."""
    docs, size, chunk = [], 0, 0
    for segment in bucket.segments:
        for doc in read_segment(segment, corpus_format, counts):
            docs.append(doc)
            size += sum(len(s) for s in doc.sentences)
            if segment.kind != BYTES and size >= chunk_bytes:
                yield chunk, docs
                docs, size, chunk = [], 0, chunk + 1
    if docs or chunk == 0:
        yield chunk, docs


def read_segment(
    segment: Segment,
    corpus_format: CorpusFormat,
    counts: dict[str, int],
    split: bool | None = None,
) -> Iterator[Document]:
    """Yields the documents a segment owns, in file order, counting what was skipped.

    Args:
      segment: the part of a file to read.
      corpus_format: the reading settings.
      counts: bad-record and document counts, updated in place (`READ_COUNTS`).
      split: whether to split sentences; None: as `corpus_format` says for the format.
    """
    fmt = formats.format_of(segment.path, corpus_format.input_format)
    compression = formats.compression_of(segment.path)
    splitting = corpus_format.splits(fmt) if split is None else split
    splitter = split_sentences if splitting else None
    with FileSystems.open(segment.path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
        f = formats.decompressed(raw, compression)
        if fmt in formats.TEXT_FORMATS:
            records = ((units, None) for units in documents.read_text_units(f, segment))
        elif fmt == formats.JSONL:
            records = jsonl.read_jsonl(
                f, segment, corpus_format.text_field, corpus_format.id_field, counts
            )
        else:
            records = parquet.read_parquet(
                f, segment, corpus_format.text_field, corpus_format.id_field, counts
            )
        for units, key in records:
            doc = documents.make_document(units, key, splitter)
            counts["documents"] += 1
            counts["skipped_lines"] += doc.skipped_lines
            yield doc
