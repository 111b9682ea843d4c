"""Tests for keyed draws and sentence-pair creation (draws.py, instances.py)."""

import itertools

import numpy as np

from components.example_gen import instances
from components.example_gen.draws import Draws, draws_for
from components.example_gen.instances import NegativePool, Pair, TokenizedDocument


class ScriptedDraws(Draws):
    """Draws that return hand-chosen uniforms, so instance structure can be hand-computed."""

    def __init__(self, uniforms):
        super().__init__(np.random.default_rng(0))
        self._script = list(uniforms)

    def uniform(self):
        return self._script.pop(0)

    def heads(self, flips):
        return flips // 2  # Half the trimmed tokens come off the front.


def _docs(*sentence_lengths):
    """Documents laid out one after the other in a flat array: lengths per sentence."""
    out, offset = [], 0
    for lengths in sentence_lengths:
        starts, ends = [], []
        for n in lengths:
            starts.append(offset)
            ends.append(offset + n)
            offset += n
        out.append(TokenizedDocument(starts, ends))
    return out


def test_draws_are_keyed_by_seed_document_and_pass():
    def first(seed, doc, p):
        d = draws_for(seed, doc, p)
        return [d.uniform() for _ in range(70)] + [d.randint(2, 9), d.heads(40)]

    assert first(1, 2**63 + 5, 0) == first(1, 2**63 + 5, 0)
    assert first(1, 2**63 + 5, 0) != first(1, 2**63 + 5, 1)
    assert first(1, 2**63 + 5, 0) != first(2, 2**63 + 5, 0)
    assert first(1, 2**63 + 5, 0) != first(1, 7, 0)


def test_randint_covers_both_ends_and_heads_is_binomial():
    d = draws_for(0, 0, 0)
    values = {d.randint(2, 5) for _ in range(2000)}
    assert values == {2, 3, 4, 5}
    for flips in (5, 32, 100):
        mean = np.mean([d.heads(flips) for _ in range(4000)])
        assert abs(mean - flips / 2) < 0.1 * flips**0.5 * 5 / 2


def test_trims_match_the_reference_loop():
    for len_a, len_b, limit in itertools.product(range(1, 12), range(1, 12), (2, 5, 9)):
        a, b, trim_a, trim_b = len_a, len_b, 0, 0
        while a + b > limit:  # The reference: trim the longer side, B on ties.
            if a > b:
                a, trim_a = a - 1, trim_a + 1
            else:
                b, trim_b = b - 1, trim_b + 1
        assert instances.trims(len_a, len_b, limit) == (trim_a, trim_b), (len_a, len_b)


def test_actual_next_pair_by_hand():
    # Doc 0: sentences of 3, 4, 5 tokens at [0,3) [3,7) [7,12); target 125 takes them all.
    docs = _docs([3, 4, 5], [2, 2])
    # 0.9: no short target; a_end = 1 + int(0.6 * 2) = 2; 0.7 >= 0.5: actual next.
    draws = ScriptedDraws([0.9, 0.6, 0.7])
    pairs, stats = instances.create_pairs(0, docs, NegativePool([0, 0]), 125, 0.1, draws)
    assert pairs == [Pair(0, 7, 7, 12, False)]
    assert stats == instances.PairStats(0, 0)


def test_random_next_pair_puts_unused_sentences_back():
    docs = _docs([3, 4, 5], [2, 2])
    draws = ScriptedDraws(
        [
            0.9,  # short target? no (short_seq_prob 0)
            0.1,  # a_end = 1 + int(0.1 * 2) = 1 of the 3-sentence chunk
            0.2,  # < 0.5: random next
            0.5,  # the pool {0, 1} minus doc 0: randint(0, 0) -> doc 1
            0.0,  # start at doc 1's sentence 0; B = doc 1 until 122 tokens or its end
            0.3,  # sentences 1 and 2 were put back: a_end = 1 of that chunk
            0.8,  # >= 0.5: actual next
        ]
    )
    pairs, _ = instances.create_pairs(0, docs, NegativePool([0, 0]), 125, 0.0, draws)
    assert pairs == [Pair(0, 3, 12, 16, True), Pair(3, 7, 7, 12, False)]


def test_short_target_and_truncation_by_hand():
    docs = _docs([6, 6], [9])
    draws = ScriptedDraws(
        [
            0.05,  # < short_seq_prob: target = randint(2, 8) = 2 + int(0.5 * 7) = 5
            0.5,
            0.0,  # sentence 0 (6 >= 5) is a one-sentence chunk: negative from doc 1
            0.0,  # B starts at doc 1's only sentence: [12, 21)
            0.0,  # the second chunk (sentence 1) likewise
            0.0,
        ]
    )
    pairs, _ = instances.create_pairs(0, docs, NegativePool([0, 0]), 8, 0.1, draws)
    # 6 + 9 = 15 > 8: B is longer by 3, so B loses 3, then B/A alternate: B 5, A 2.
    assert instances.trims(6, 9, 8) == (2, 5)
    # ScriptedDraws.heads: half of each side's trims come off the front (A 1+1, B 2+3).
    assert pairs == [Pair(1, 5, 14, 18, True), Pair(7, 11, 14, 18, True)]


def test_negative_is_never_the_same_document():
    docs = _docs([1], [1], [1], [1])
    pool = NegativePool([0, 0, 0, 0])
    for seed in range(200):
        pairs, _ = instances.create_pairs(2, docs, pool, 125, 0.0, draws_for(seed, 9, 0))
        (pair,) = pairs
        assert pair.is_random_next and pair.b_start != docs[2].starts[0]


def test_negatives_prefer_the_same_split_then_fall_back_and_count():
    docs = _docs([1], [1], [1])
    pool = NegativePool([0, 0, 1])
    picked = {pool.pick(0, draws_for(s, 0, 0)) for s in range(50)}
    assert picked == {(1, False)}
    assert {pool.pick(2, draws_for(s, 0, 0)) for s in range(50)} == {(0, True), (1, True)}
    pairs, stats = instances.create_pairs(2, docs, pool, 125, 0.0, draws_for(0, 0, 0))
    assert len(pairs) == 1 and stats == instances.PairStats(0, 1)


def test_without_another_document_the_instance_is_skipped_and_counted():
    docs = _docs([2], [])
    pairs, stats = instances.create_pairs(
        0, docs, NegativePool([0, None]), 125, 0.0, Draws(np.random.default_rng(0))
    )
    assert pairs == [] and stats == instances.PairStats(1, 0)
