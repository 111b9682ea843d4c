"""Masked-LM predictions: which positions to mask and what to put there (NumPy, no Beam).

Reference semantics (docs/reference/example-generation.md): `n = min(max_predictions_per_seq, max(1,
round(len(tokens) * masked_lm_prob)))` with Python-3 (half-to-even) rounding and `len`
counting [CLS]/[SEP]; [CLS]/[SEP] are never masked; each chosen position (or, with whole-word
masking, each chosen word or n-gram as a unit) becomes [MASK] 80% of the time, stays
unchanged 10% and becomes a uniformly random vocabulary token 10%; positions are sorted.

Token-level masking is vectorised over a batch: its draws are arrays (`keys`, `actions`,
`replacements`) taken from each document's keyed generator, so the functions here are pure
and testable with hand-written draws. Whole-word and n-gram masking walk each instance's
words in Python with the document's `Draws`; n-gram sizes are Zipf-weighted as in Model
Garden, but seeded (Model Garden draws them from the unseeded global `random`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from components import features
from components.example_gen.draws import Draws

MASK_PROB = 0.8  # Then KEEP_PROB unchanged; the rest (0.1) a random token.
KEEP_PROB = 0.1


def num_to_predict(lengths: np.ndarray, masked_lm_prob: float, max_predictions: int) -> np.ndarray:
    """Masked positions per instance; `np.rint` rounds half to even, as Python 3 `round`."""
    wanted = np.maximum(1, np.rint(np.asarray(lengths, np.float64) * masked_lm_prob))
    return np.minimum(max_predictions, wanted).astype(np.int64)


def candidates(lengths: np.ndarray, first_sep: np.ndarray, seq_length: int) -> np.ndarray:
    """[batch, seq_length] bool: positions that may be masked (not [CLS]/[SEP]/padding)."""
    pos = np.arange(seq_length)[None, :]
    lengths, first_sep = np.asarray(lengths)[:, None], np.asarray(first_sep)[:, None]
    return (pos >= 1) & (pos < lengths - 1) & (pos != first_sep)


def choose_tokens(
    allowed: np.ndarray, counts: np.ndarray, keys: np.ndarray, max_predictions: int
) -> tuple[np.ndarray, np.ndarray]:
    """Picks `counts[i]` random allowed positions per row without replacement.

    The allowed positions with the smallest `keys` win (a uniformly random subset when the
    keys are i.i.d. uniform); a row with fewer allowed positions than `counts` takes them all.

    Returns:
      (chosen [batch, max_predictions] positions in draw order, valid [batch, max_predictions]).
    """
    keyed = np.where(allowed, keys, 2.0)
    if max_predictions < keyed.shape[1]:  # Partition, then sort only the winners.
        chosen = np.argpartition(keyed, max_predictions - 1, axis=1)[:, :max_predictions]
    else:
        chosen = np.broadcast_to(np.arange(keyed.shape[1]), keyed.shape)
    rank = np.argsort(np.take_along_axis(keyed, chosen, axis=1), axis=1, kind="stable")
    chosen = np.take_along_axis(chosen, rank, axis=1)
    take = np.minimum(counts, allowed.sum(axis=1))
    valid = np.arange(chosen.shape[1])[None, :] < take[:, None]
    return chosen, valid


def apply_masks(
    input_ids: np.ndarray,
    chosen: np.ndarray,
    valid: np.ndarray,
    actions: np.ndarray,
    replacements: np.ndarray,
    mask_id: int,
) -> dict[str, np.ndarray]:
    """Masks the chosen positions; returns the masked ids and the padded prediction arrays.

    Args:
      input_ids: [batch, seq_length] token ids, unmasked.
      chosen, valid: from `choose_tokens` (or the word-level equivalent).
      actions: [batch, max_predictions] uniforms: < 0.8 [MASK], < 0.9 keep, else replace.
      replacements: [batch, max_predictions] random token ids for the replace case.
      mask_id: the id of [MASK].

    Returns:
      'input_ids' (masked), 'masked_lm_positions' (sorted, 0-padded), 'masked_lm_ids' (the
      original tokens), 'masked_lm_weights' (1.0 per real prediction).
    """
    rows, slots = np.nonzero(valid)
    cols = chosen[rows, slots]
    act = actions[rows, slots]
    original = input_ids[rows, cols]
    new = np.where(
        act < MASK_PROB,
        mask_id,
        np.where(act < MASK_PROB + KEEP_PROB, original, replacements[rows, slots]),
    )
    masked = input_ids.copy()
    masked[rows, cols] = new
    seq_length = input_ids.shape[1]
    positions = np.sort(np.where(valid, chosen, seq_length), axis=1)
    real = positions < seq_length
    positions = np.where(real, positions, 0)
    labels = np.where(real, np.take_along_axis(input_ids, positions, axis=1), 0)
    return {
        features.INPUT_IDS: masked,
        features.MASKED_LM_POSITIONS: positions,
        features.MASKED_LM_IDS: labels,
        features.MASKED_LM_WEIGHTS: real.astype(np.float32),
    }


def words(ids: np.ndarray, allowed: np.ndarray, continuation: np.ndarray) -> list:
    """Whole words of one instance as [begin, end) token spans, [CLS]/[SEP] excluded.

    A word is a token plus the `##` pieces that directly follow it in the same segment.

    Args:
      ids: [seq_length] token ids of the instance.
      allowed: [seq_length] bool, from `candidates`.
      continuation: [vocab_size] bool, True for `##` pieces.
    """
    previous = np.concatenate([[False], allowed[:-1]])
    start = allowed & ~(continuation[ids] & previous)
    stops = np.flatnonzero(start | ~allowed)  # The position after every word is a stop.
    begins = np.flatnonzero(start)
    ends = stops[np.searchsorted(stops, begins, side="right")]
    return list(zip(begins.tolist(), ends.tolist()))


def choose_spans(
    word_spans: Sequence[tuple[int, int]], budget: int, max_ngram_size: int, draws: Draws
) -> list[tuple[int, int]]:
    """Model Garden's n-gram selection: non-overlapping spans of 1..n contiguous words.

    Spans are tried in a random order; sizes are drawn with Zipf weights (1, 1/2, 1/3, ...);
    a span is skipped when it would overlap a chosen one or take the masked tokens over
    `budget`.
    """
    joined = [a[1] == b[0] for a, b in zip(word_spans, word_spans[1:])]
    grams: dict[int, list[tuple[int, int]]] = {}
    for size in range(1, max_ngram_size + 1):
        found = list(word_spans) if size == 1 else [
            (word_spans[k][0], word_spans[k + size - 1][1])
            for k in range(len(word_spans) - size + 1)
            if all(joined[k : k + size - 1])
        ]  # fmt: skip
        grams[size] = [found[i] for i in draws.rng.permutation(len(found)).tolist()]
    chosen: list[tuple[int, int]] = []
    if max_ngram_size == 1:  # Words never overlap: take them in random order while they fit.
        taken = 0
        while grams[1] and taken < budget:
            begin, end = grams[1].pop()
            if taken + end - begin <= budget:
                chosen.append((begin, end))
                taken += end - begin
        return chosen
    weights = list(itertools.accumulate(1.0 / n for n in range(1, max_ngram_size + 1)))
    masked: set[int] = set()
    while len(masked) < budget and any(grams.values()):
        size = _weighted_size(weights, draws)
        if len(masked) + size > budget:
            grams[size] = []  # Every gram of this size is too long now.
            continue
        if not grams[size]:
            continue
        begin, end = grams[size].pop()
        if len(masked) + end - begin > budget or any(p in masked for p in range(begin, end)):
            continue
        masked.update(range(begin, end))
        chosen.append((begin, end))
    return chosen


def choose_words(
    input_ids: np.ndarray,
    allowed: np.ndarray,
    counts: np.ndarray,
    continuation: np.ndarray,
    max_ngram_size: int,
    row_draws: Sequence[Draws],
    vocab_size: int,
    max_predictions: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Whole-word (and n-gram) choice per row, one action per span.

    Returns:
      (chosen, valid, actions, replacements), each [batch, max_predictions], for
      `apply_masks`.
    """
    batch = input_ids.shape[0]
    chosen = np.zeros((batch, max_predictions), np.int64)
    actions = np.zeros((batch, max_predictions), np.float64)
    replacements = np.zeros((batch, max_predictions), np.int64)
    taken = np.zeros(batch, np.int64)
    for row in range(batch):
        draws = row_draws[row]
        spans = words(input_ids[row], allowed[row], continuation)
        positions, acts, tokens = [], [], []
        for begin, end in choose_spans(spans, int(counts[row]), max_ngram_size, draws):
            action = draws.uniform()  # One action for the whole span, as the reference.
            for pos in range(begin, end):
                positions.append(pos)
                acts.append(action)
                tokens.append(draws.randint(0, vocab_size - 1))
        k = taken[row] = len(positions)
        chosen[row, :k], actions[row, :k], replacements[row, :k] = positions, acts, tokens
    valid = np.arange(max_predictions)[None, :] < taken[:, None]
    return chosen, valid, actions, replacements


def _weighted_size(cumulative: list[float], draws: Draws) -> int:
    point = draws.uniform() * cumulative[-1]
    for size, edge in enumerate(cumulative, start=1):
        if point < edge:
            return size
    return len(cumulative)
