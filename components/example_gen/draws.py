"""Keyed random draws: one generator per (seed, document id, dupe pass).

Every random choice the example generator makes for a document in a pass comes from
`draws_for(seed, doc_id, dupe_pass)`, so a document's instances and masks never depend on
bundling, worker count, retries or the order in which files or documents are read.
"""

from __future__ import annotations

import numpy as np

# Scalar draws are handed out from pre-drawn blocks: one NumPy call per block instead of
# one per draw (a NumPy scalar call costs far more than a Python list lookup).
_BLOCK = 64
# Up to this many coin flips come from the bits of one uniform (53 random bits); more use
# one binomial draw.
_MAX_BIT_FLIPS = 32


class Draws:
    """Uniform scalar draws plus the underlying generator for vectorised draws.

    Args:
      rng: the keyed NumPy generator.
    """

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self._block: list[float] = []
        self._next = 0

    def uniform(self) -> float:
        """A float in [0, 1)."""
        if self._next == len(self._block):
            self._block = self.rng.random(_BLOCK).tolist()
            self._next = 0
        value = self._block[self._next]
        self._next += 1
        return value

    def randint(self, low: int, high: int) -> int:
        """An integer in [low, high], both ends included (as `random.randint`)."""
        return low + int(self.uniform() * (high - low + 1))

    def heads(self, flips: int) -> int:
        """How many of `flips` fair coin flips come up heads."""
        if flips <= _MAX_BIT_FLIPS:
            return int(self.uniform() * (1 << flips)).bit_count()
        return int(self.rng.binomial(flips, 0.5))


def draws_for(seed: int, doc_id: int, dupe_pass: int) -> Draws:
    """The draws of one document in one dupe pass."""
    return Draws(np.random.default_rng([seed, doc_id, dupe_pass]))
