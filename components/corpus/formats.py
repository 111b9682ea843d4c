"""Corpus file formats and compressions: naming, detection by extension, and opening.

| format       | extensions (before any .gz/.bz2/.zst)  | a document is                    |
|--------------|----------------------------------------|----------------------------------|
| `bert`       | .txt and anything else                 | lines up to a blank line, one    |
|              |                                        | sentence per line                |
| `paragraphs` | (set explicitly)                       | lines up to a blank line, one    |
|              |                                        | paragraph per line               |
| `jsonl`      | .jsonl, .json, .ndjson                 | one JSON object per line         |
| `parquet`    | .parquet, .pq                          | one row                          |

A file is checked against its extension before any pipeline runs (`check_file`): gzip,
bzip2, zstd and Parquet files start with magic bytes, and a file that claims one of them
without them (or a text/JSON file that starts with one) is refused with one line.
"""

from __future__ import annotations

import bz2
import gzip
import io
from typing import BinaryIO

from components.errors import BertpipeError

AUTO, BERT, PARAGRAPHS, JSONL, PARQUET = "auto", "bert", "paragraphs", "jsonl", "parquet"
FORMATS = (BERT, PARAGRAPHS, JSONL, PARQUET)
TEXT_FORMATS = (BERT, PARAGRAPHS)

GZIP, BZIP2, ZSTD = "gzip", "bzip2", "zstd"
_COMPRESSION_SUFFIXES = {".gz": GZIP, ".gzip": GZIP, ".bz2": BZIP2, ".zst": ZSTD, ".zstd": ZSTD}
# Compressions bertpipe cannot read: refused up front, naming the file.
_UNSUPPORTED_SUFFIXES = (".zip", ".xz", ".lzma", ".deflate", ".lzo", ".snappy", ".7z", ".tar")
_FORMAT_SUFFIXES = {".jsonl": JSONL, ".json": JSONL, ".ndjson": JSONL, ".parquet": PARQUET}
_FORMAT_SUFFIXES[".pq"] = PARQUET
_MAGIC = {
    GZIP: b"\x1f\x8b",
    BZIP2: b"BZh",
    ZSTD: b"\x28\xb5\x2f\xfd",
    PARQUET: b"PAR1",
}
HEAD_BYTES = 8  # Enough for every magic number above.


def compression_of(path: str) -> str | None:
    """The compression the file's extension names (None: uncompressed)."""
    lower = path.lower()
    if lower.endswith(_UNSUPPORTED_SUFFIXES):
        raise BertpipeError(
            f"corpus file {path!r} is compressed in a format bertpipe does not read; "
            "expected plain files or .gz, .bz2 or .zst; recompress it (e.g. gzip) or "
            "decompress it."
        )
    for suffix, name in _COMPRESSION_SUFFIXES.items():
        if lower.endswith(suffix):
            return name
    return None


def format_of(path: str, input_format: str = AUTO) -> str:
    """The file's format: `input_format` unless it is `auto`, else by extension."""
    if input_format != AUTO:
        return input_format
    lower = path.lower()
    if compression_of(path):
        lower = lower[: lower.rindex(".")]
    for suffix, name in _FORMAT_SUFFIXES.items():
        if lower.endswith(suffix):
            return name
    return BERT


def check_file(path: str, fmt: str, compression: str | None, head: bytes) -> None:
    """Refuses a file whose first bytes contradict its format or compression.

    Args:
      path: the file (for the message).
      fmt, compression: what the extension or the config says the file is.
      head: the file's first `HEAD_BYTES` bytes.
    """
    if not head:
        return  # An empty file holds no document; counted when planned.
    if compression is not None:
        if fmt == PARQUET:
            raise BertpipeError(
                f"corpus file {path!r}: a Parquet file compresses its own pages; remove the "
                f"{compression} layer (expected a plain .parquet file)."
            )
        if not head.startswith(_MAGIC[compression]):
            raise _mismatch(path, f"a {compression} file", head)
        return
    if fmt == PARQUET:
        if not head.startswith(_MAGIC[PARQUET]):
            raise _mismatch(path, "a Parquet file (starting with PAR1)", head)
        return
    for name, magic in _MAGIC.items():
        if head.startswith(magic):
            raise BertpipeError(
                f"corpus file {path!r} starts like a {name} file but its extension and the "
                f"input format say {fmt} text; rename it with the right extension (.gz, .bz2, "
                ".zst, .parquet) or set input_format."
            )
    if fmt == JSONL and not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        raise _mismatch(path, "JSON lines (one object per line, starting with '{')", head)


def _mismatch(path: str, expected: str, head: bytes) -> BertpipeError:
    return BertpipeError(
        f"corpus file {path!r} is not {expected}: it starts with {head!r}; fix the file's "
        "extension or set input_format to what the file holds."
    )


def decompressed(raw: BinaryIO, compression: str | None) -> BinaryIO:
    """A binary stream of the file's content, decompressed (multi-member gzip included)."""
    if compression is None:
        return raw
    if compression == GZIP:
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if compression == BZIP2:
        return bz2.BZ2File(raw, mode="rb")
    import zstandard  # A dependency of apache-beam; imported only when needed.

    reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    return io.BufferedReader(reader, buffer_size=1 << 20)
