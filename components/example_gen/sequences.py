"""Packed token sequences without masks (`format: sequences`): pure Python/NumPy, no Beam.

RoBERTa (Liu et al. 2019, §4.2) trains on FULL-SENTENCES: whole sentences taken in order
from one or more documents until the sequence is full, with a separator between
documents; DOC-SENTENCES stops at a document's end instead. A sequence is

    [CLS] sentence sentence ... [SEP] sentence ... [SEP]

with one [SEP] between documents (FULL-SENTENCES only) and one at the end, `segment_ids`
all 0 and no masks: the trainer masks each sequence afresh whenever it reads it.

A sentence longer than a whole sequence is cut into sequence-sized pieces (counted as
`split_sentences`); nothing is dropped. Packing is deterministic: the documents of a
bucket in the order they are stored, so 1 or N workers write the same sequences.

Worked example (`max_tokens` = 6, the sequence less [CLS] and the final [SEP]):
documents [[a b c], [d e]] and [[f g h i]] (sentences of token ranges) pack to
`[a b c d e]` and `[f g h i]` (the [SEP] between the documents would make 7 > 6), or, with
documents [[a b], [c]] and [[d e]]: `[a b c [SEP] d e]`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from components import features
from components.example_gen.instances import TokenizedDocument

SEPARATOR = (-1, -1)  # A [SEP] between documents, as a piece of a packed sequence.


class Packed(NamedTuple):
    """Packed sequences as lists of [start, end) ranges of the flat token array.

    Attributes:
      pieces: per sequence, its ranges in order; `SEPARATOR` stands for a [SEP].
      split_sentences: sentences longer than a sequence, cut into pieces.
    """

    pieces: list[list[tuple[int, int]]]
    split_sentences: int


def pack(documents: Sequence[TokenizedDocument], max_tokens: int, cross_documents: bool) -> Packed:
    """Packs the documents' sentences, in order, into sequences of at most `max_tokens`.

    Args:
      documents: the documents to pack, in the order they are stored.
      max_tokens: tokens per sequence, less [CLS] and the final [SEP].
      cross_documents: FULL-SENTENCES (True) or DOC-SENTENCES (False).
    """
    sequences: list[list[tuple[int, int]]] = []
    current: list[tuple[int, int]] = []
    used = split = 0
    for doc in documents:
        new_document = True
        for start, end in zip(doc.starts, doc.ends):
            split += end - start > max_tokens
            for piece in range(start, end, max_tokens):
                piece_end = min(piece + max_tokens, end)
                sep = 1 if new_document and current else 0
                if used + sep + piece_end - piece > max_tokens:
                    sequences.append(current)
                    current, used, sep = [], 0, 0
                if sep:
                    current.append(SEPARATOR)
                current.append((piece, piece_end))
                used += sep + piece_end - piece
                new_document = False
        if current and not cross_documents:
            sequences.append(current)
            current, used = [], 0
    if current:
        sequences.append(current)
    return Packed(sequences, split)


def assemble(
    pieces: Sequence[Sequence[tuple[int, int]]],
    flat: np.ndarray,
    seq_length: int,
    cls_id: int,
    sep_id: int,
) -> dict[str, np.ndarray]:
    """The sequence features ([batch, seq_length] int64) of packed sequences, and lengths.

    Returns:
      `input_ids`, `input_mask`, `segment_ids` (the `features.SEQUENCE_FEATURES`) and
      `lengths` ([batch], real tokens per sequence).
    """
    ids = np.zeros((len(pieces), seq_length), np.int64)
    lengths = np.zeros(len(pieces), np.int64)
    cls, sep = np.array([cls_id], np.int64), np.array([sep_id], np.int64)
    for row, ranges in enumerate(pieces):
        parts = [cls]
        parts += [sep if r == SEPARATOR else flat[r[0] : r[1]] for r in ranges]
        parts.append(sep)
        tokens = np.concatenate(parts)
        ids[row, : len(tokens)] = tokens
        lengths[row] = len(tokens)
    mask = (np.arange(seq_length)[None, :] < lengths[:, None]).astype(np.int64)
    return {
        features.INPUT_IDS: ids,
        features.INPUT_MASK: mask,
        features.SEGMENT_IDS: np.zeros_like(ids),
        "lengths": lengths,
    }
