"""Parquet: one document per row, its text in a string column; read by row groups.

Row groups are the unit of parallel reading: the planner packs consecutive row groups of a
file into buckets of about `bucket_bytes` (uncompressed) and a reader reads one row group
at a time, only the text (and id) columns. A null text is counted (`missing_text`), as is a
text with no non-blank line (`empty_records`); a missing or non-string text column fails up
front, when the corpus is planned.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from components.corpus.documents import ROWS, Segment
from components.corpus.jsonl import text_units
from components.errors import BertpipeError


def row_group_sizes(f: BinaryIO, path: str, text_field: str, id_field: str) -> list[int]:
    """Uncompressed bytes of each row group; checks the text (and id) column.

    Raises:
      BertpipeError: not a Parquet file, or no string column named `text_field`.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(f)
    except (pa.ArrowException, OSError) as e:
        raise BertpipeError(f"corpus file {path!r} is not a readable Parquet file: {e}") from None
    schema = meta.schema_arrow
    for field, required in ((text_field, True), (id_field, False)):
        if not field:
            continue
        if field not in schema.names:
            raise BertpipeError(
                f"corpus file {path!r} has no column {field!r} (columns: "
                f"{', '.join(schema.names)}); set text_field/id_field to the right column."
            )
        kind = schema.field(field).type
        if required and not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            raise BertpipeError(
                f"corpus file {path!r}: column {field!r} is {kind}, expected a string column "
                "of document text; set text_field to the text column."
            )
    return [meta.metadata.row_group(i).total_byte_size for i in range(meta.num_row_groups)]


def read_parquet(
    f: BinaryIO, segment: Segment, text_field: str, id_field: str, counts: dict[str, int]
) -> Iterator[tuple[list[bytes], bytes | None]]:
    """Yields (the text's stripped non-blank lines, the id or None) per good row."""
    import pyarrow.parquet as pq

    if segment.kind != ROWS:
        raise ValueError(f"a Parquet file is read by row groups, not {segment!r}")
    parquet = pq.ParquetFile(f)
    columns = [text_field] + ([id_field] if id_field else [])
    for group in range(segment.start, segment.end):
        table = parquet.read_row_group(group, columns=columns)
        texts = table.column(text_field).to_pylist()
        ids = table.column(id_field).to_pylist() if id_field else [None] * len(texts)
        for text, doc_id in zip(texts, ids):
            counts["records"] += 1
            record = text_units(text, doc_id, counts)
            if record is not None:
                yield record
