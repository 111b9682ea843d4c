"""Sentence-pair instances from tokenized documents, with the reference semantics.

Per document and dupe pass (google-research/bert and Model Garden
`create_instances_from_document`, docs/reference/example-generation.md):

- the target length is `max_num_tokens`, or with probability `short_seq_prob` a random
  length in [2, max_num_tokens];
- sentences are collected into a chunk until it reaches the target or the document ends;
  A is the chunk's first `a_end` sentences (`a_end` random in [1, len(chunk) - 1]);
- B is a random next sentence when the chunk has one sentence or with probability 0.5:
  sentences from a random start in a *different* document (never the same one: the
  reference can fall back to the same document, a known label bug); the chunk's unused
  sentences are put back. Otherwise B is the rest of the chunk;
- the pair is truncated to `max_num_tokens` by trimming the longer side (ties trim B), from
  the front or the back with probability 0.5 each.

Negatives come from the same bucket (see documents.py), preferring a document of the same
split so that eval examples hold only eval text; a bucket whose split has no other document
falls back to the other split (counted), and an instance that needs a negative in a bucket
with no other document at all is skipped (counted).

Tokens are not copied: a document's sentences are (start, end) ranges in the bucket's flat
token array, and since a document's sentences are consecutive there, A and B are ranges too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from components.example_gen.draws import Draws


class TokenizedDocument(NamedTuple):
    """A document's non-empty sentences as [start, end) ranges of the flat token array."""

    starts: list[int]
    ends: list[int]


class Pair(NamedTuple):
    """An instance before masking: A = flat[a_start:a_end], B = flat[b_start:b_end]."""

    a_start: int
    a_end: int
    b_start: int
    b_end: int
    is_random_next: bool


class PairStats(NamedTuple):
    """What happened to a document's chunks in one pass."""

    no_negative: int  # instances skipped: no other document in the bucket
    cross_split: int  # negatives taken from the other split's documents


class NegativePool:
    """Picks the document that gives a next-sentence negative, never the document itself.

    Args:
      groups: the split group of each document of the bucket (e.g. 0 train, 1 eval);
        None for a document with no sentences, which is never picked.
    """

    def __init__(self, groups: Sequence[int | None]):
        self._groups = list(groups)
        members: dict[int, list[int]] = {}
        for i, g in enumerate(self._groups):
            if g is not None:
                members.setdefault(g, []).append(i)
        self._members = members
        self._others = {
            g: [i for h, docs in sorted(members.items()) if h != g for i in docs] for g in members
        }
        self._rank = {i: r for docs in members.values() for r, i in enumerate(docs)}

    def pick(self, doc: int, draws: Draws) -> tuple[int, bool] | None:
        """(negative document, whether it is from another group), or None if there is none."""
        group = self._groups[doc]
        own = self._members[group]
        if len(own) > 1:
            r = draws.randint(0, len(own) - 2)
            return own[r + (r >= self._rank[doc])], False
        others = self._others[group]
        if others:
            return others[draws.randint(0, len(others) - 1)], True
        return None


def create_pairs(
    doc: int,
    documents: Sequence[TokenizedDocument],
    pool: NegativePool,
    max_num_tokens: int,
    short_seq_prob: float,
    draws: Draws,
) -> tuple[list[Pair], PairStats]:
    """The instances of document `doc` for one dupe pass, truncated to `max_num_tokens`."""
    starts, ends = documents[doc]
    n = len(starts)
    target = max_num_tokens
    if draws.uniform() < short_seq_prob:
        target = draws.randint(2, max_num_tokens)
    pairs: list[Pair] = []
    no_negative = cross_split = 0
    first, length, i = 0, 0, 0
    while i < n:
        length += ends[i] - starts[i]
        if i == n - 1 or length >= target:
            size = i - first + 1
            a_count = 1 if size == 1 else draws.randint(1, size - 1)
            a_start, a_end = starts[first], ends[first + a_count - 1]
            if size == 1 or draws.uniform() < 0.5:
                i = first + a_count - 1  # Put the unused sentences back.
                picked = pool.pick(doc, draws)
                if picked is None:
                    no_negative += 1
                else:
                    other, cross = picked
                    cross_split += cross
                    b_start, b_end = _random_b(documents[other], target - (a_end - a_start), draws)
                    pairs.append(
                        _truncate(a_start, a_end, b_start, b_end, True, max_num_tokens, draws)
                    )
            else:
                b_start, b_end = starts[first + a_count], ends[i]
                pairs.append(
                    _truncate(a_start, a_end, b_start, b_end, False, max_num_tokens, draws)
                )
            first, length = i + 1, 0
        i += 1
    return pairs, PairStats(no_negative, cross_split)


def _random_b(other: TokenizedDocument, target_b: int, draws: Draws) -> tuple[int, int]:
    """Sentences of `other` from a random start until `target_b` tokens or its end."""
    starts, ends = other
    k = draws.randint(0, len(starts) - 1)
    m = k
    while m < len(starts) - 1 and ends[m] - starts[k] < target_b:
        m += 1
    return starts[k], ends[m]


def trims(len_a: int, len_b: int, max_num_tokens: int) -> tuple[int, int]:
    """How many tokens the reference's truncation loop removes from A and from B.

    The loop removes one token at a time from the longer side, B on ties, until the pair
    fits; which side loses each token does not depend on the random draws.
    """
    excess = len_a + len_b - max_num_tokens
    if excess <= 0:
        return 0, 0
    diff = len_a - len_b
    longer = min(excess, abs(diff))
    rest = excess - longer
    trim_a, trim_b = rest // 2, rest - rest // 2
    if diff > 0:
        trim_a += longer
    else:
        trim_b += longer
    return trim_a, trim_b


def _truncate(
    a_start: int,
    a_end: int,
    b_start: int,
    b_end: int,
    is_random_next: bool,
    max_num_tokens: int,
    draws: Draws,
) -> Pair:
    trim_a, trim_b = trims(a_end - a_start, b_end - b_start, max_num_tokens)
    if trim_a:  # Each removed token came off the front with probability 0.5.
        front = draws.heads(trim_a)
        a_start, a_end = a_start + front, a_end - (trim_a - front)
    if trim_b:
        front = draws.heads(trim_b)
        b_start, b_end = b_start + front, b_end - (trim_b - front)
    return Pair(a_start, a_end, b_start, b_end, is_random_next)
