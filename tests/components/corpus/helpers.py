"""The same documents written in every corpus format (for the reader and equivalence tests)."""

import bz2
import gzip
import json
import pathlib

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

WHALES = pathlib.Path(__file__).parents[1] / "example_gen" / "data" / "whales.txt"


def whales_documents() -> list[list[str]]:
    """The documents of tests/components/example_gen/data/whales.txt (one sentence a line)."""
    text = WHALES.read_text(encoding="utf-8")
    return [block.split("\n") for block in text.strip().split("\n\n")]


def write_corpus(directory: pathlib.Path, name: str, docs: list[list[str]]) -> str:
    """Writes `docs` as `name` (its extension picks the format); returns the path.

    `.txt`: BERT layout; `.paragraphs.txt`: each document's sentences on one line (read with
    input_format=paragraphs); `.jsonl[.gz|.bz2|.zst]`: {"id", "text"}; `.parquet`: two row
    groups of columns id, text.
    """
    path = directory / name
    if name.endswith(".paragraphs.txt"):
        path.write_text("\n\n".join(" ".join(d) for d in docs) + "\n", encoding="utf-8")
    elif name.endswith(".txt"):
        path.write_text("\n\n".join("\n".join(d) for d in docs) + "\n", encoding="utf-8")
    elif name.endswith(".parquet"):
        table = pa.table({"id": list(range(len(docs))), "text": ["\n".join(d) for d in docs]})
        pq.write_table(table, path, row_group_size=max(1, len(docs) // 2))
    else:
        lines = "".join(
            json.dumps({"id": i, "text": "\n".join(d)}) + "\n" for i, d in enumerate(docs)
        ).encode("utf-8")
        if name.endswith(".gz"):
            lines = gzip.compress(lines)
        elif name.endswith(".bz2"):
            lines = bz2.compress(lines)
        elif name.endswith(".zst"):
            lines = zstandard.ZstdCompressor().compress(lines)
        path.write_bytes(lines)
    return str(path)


# Every format, as (file name, input_format).
FORMATS = [
    ("c.txt", "auto"),
    ("c.paragraphs.txt", "paragraphs"),
    ("c.jsonl", "auto"),
    ("c.jsonl.gz", "auto"),
    ("c.jsonl.bz2", "auto"),
    ("c.jsonl.zst", "auto"),
    ("c.parquet", "auto"),
]
