"""Sentence pairs -> padded feature arrays, `[CLS] A [SEP] B [SEP]` (NumPy, no Beam).

Pairs are token ranges of one flat array (see instances.py); a whole batch is gathered at
once, so no per-instance Python list is ever built.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from components.example_gen.instances import Pair


class Assembled:
    """A batch of unmasked examples.

    Attributes:
      input_ids: [batch, seq_length] int64, 0-padded.
      segment_ids: [batch, seq_length] int64: 0 through the first [SEP], 1 after.
      input_mask: [batch, seq_length] int64: 1 on real tokens.
      lengths: [batch] real tokens per example, specials included.
      first_sep: [batch] position of the first [SEP] (= len(A) + 1).
      next_sentence_labels: [batch, 1] int64: 1 when B is a random document.
    """

    def __init__(
        self, pairs: Sequence[Pair], flat: np.ndarray, seq_length: int, cls: int, sep: int
    ):
        # fromiter: much faster than np.asarray on a list of tuples.
        p = np.fromiter(itertools.chain.from_iterable(pairs), np.int64, 5 * len(pairs))
        p = p.reshape(-1, 5)
        a_start, len_a = p[:, 0:1], p[:, 1:2] - p[:, 0:1]
        b_start, len_b = p[:, 2:3], p[:, 3:4] - p[:, 2:3]
        if np.any(len_a < 1) or np.any(len_b < 1) or np.any(len_a + len_b > seq_length - 3):
            raise ValueError("every pair needs 1+ tokens in A and in B and must fit seq_length")
        pos = np.arange(seq_length)[None, :]
        in_a = (pos >= 1) & (pos <= len_a)
        b_first = len_a + 2
        in_b = (pos >= b_first) & (pos < b_first + len_b)
        index = np.where(in_a, a_start + pos - 1, np.where(in_b, b_start + pos - b_first, 0))
        ids = np.where(in_a | in_b, flat[index], 0).astype(np.int64)
        ids[:, 0] = cls
        rows = np.arange(len(p))
        lengths = (len_a + len_b + 3)[:, 0]
        ids[rows, len_a[:, 0] + 1] = sep
        ids[rows, lengths - 1] = sep
        self.input_ids = ids
        self.segment_ids = ((pos >= b_first) & (pos < lengths[:, None])).astype(np.int64)
        self.input_mask = (pos < lengths[:, None]).astype(np.int64)
        self.lengths = lengths
        self.first_sep = len_a[:, 0] + 1
        self.next_sentence_labels = p[:, 4:5].copy()

    def __len__(self) -> int:
        return len(self.lengths)
