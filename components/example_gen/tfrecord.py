"""TFRecord framing for a batch of records, in one buffer (pure Python + a C CRC).

A TFRecord is `uint64 length | uint32 masked_crc32c(length) | data | uint32
masked_crc32c(data)`, little-endian. Framing a whole batch at once lets the writer hand the
compressor one large buffer instead of one call per record, and google-crc32c (C) is ~8x
faster than the crcmod that Beam's `WriteToTFRecord` uses.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import google_crc32c

_MASK_DELTA = 0xA282EAD8


def _masked_crc(data: bytes) -> int:
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def frame(records: Sequence[bytes]) -> bytes:
    """The TFRecord bytes of `records`, in order."""
    headers: dict[int, bytes] = {}  # Records of one batch share few distinct lengths.
    parts = []
    for record in records:
        header = headers.get(len(record))
        if header is None:
            length = struct.pack("<Q", len(record))
            header = headers[len(record)] = length + struct.pack("<I", _masked_crc(length))
        parts.append(header)
        parts.append(record)
        parts.append(_masked_crc(record).to_bytes(4, "little"))
    return b"".join(parts)
