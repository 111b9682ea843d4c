"""Tests for masking and example assembly with hand-computed draws (masking.py, examples.py)."""

import numpy as np

from components.example_gen import masking
from components.example_gen.draws import draws_for
from components.example_gen.examples import Assembled
from components.example_gen.instances import Pair

CLS, SEP, MASK = 2, 3, 4


def test_num_to_predict_rounds_half_to_even_like_python3():
    lengths = [5, 10, 30, 50, 70, 128, 200]
    expected = [min(20, max(1, round(n * 0.15))) for n in lengths]
    assert expected == [1, 2, 4, 8, 10, 19, 20]  # 1.5->2, 4.5->4, 7.5->8, 10.5->10
    assert masking.num_to_predict(np.array(lengths), 0.15, 20).tolist() == expected


def test_candidates_exclude_cls_seps_and_padding():
    allowed = masking.candidates(np.array([7]), np.array([3]), 9)
    assert allowed.tolist() == [[False, True, True, False, True, True, False, False, False]]


def test_choose_tokens_takes_the_smallest_allowed_keys():
    allowed = masking.candidates(np.array([7]), np.array([3]), 9)
    keys = np.array([[0.9, 0.5, 0.1, 0.0, 0.7, 0.3, 0.2, 0.0, 0.0]])
    chosen, valid = masking.choose_tokens(allowed, np.array([2]), keys, 3)
    assert chosen.tolist() == [[2, 5, 1]] and valid.tolist() == [[True, True, False]]
    # Asking for more than there are candidates takes all of them.
    chosen, valid = masking.choose_tokens(allowed, np.array([9]), keys, 6)
    assert chosen[0, :4].tolist() == [2, 5, 1, 4] and valid.sum() == 4


def test_apply_masks_80_10_10_and_sorted_positions_by_hand():
    ids = np.array([[CLS, 10, 11, SEP, 12, 13, SEP, 0, 0]] * 2)
    chosen = np.array([[2, 5, 1], [5, 1, 2]])
    valid = np.array([[True, True, False], [True, True, True]])
    actions = np.array([[0.5, 0.95, 0.0], [0.85, 0.1, 0.9]])  # mask, replace; keep, mask, repl.
    replacements = np.array([[7, 8, 9], [7, 8, 9]])
    out = masking.apply_masks(ids, chosen, valid, actions, replacements, MASK)
    assert out["input_ids"].tolist() == [
        [CLS, 10, MASK, SEP, 12, 8, SEP, 0, 0],
        [CLS, MASK, 9, SEP, 12, 13, SEP, 0, 0],
    ]
    assert out["masked_lm_positions"].tolist() == [[2, 5, 0], [1, 2, 5]]
    assert out["masked_lm_ids"].tolist() == [[11, 13, 0], [10, 11, 13]]
    assert out["masked_lm_weights"].tolist() == [[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]
    assert out["masked_lm_weights"].dtype == np.float32


def test_words_join_pieces_within_a_segment_only():
    continuation = np.array([False] * 10 + [False, True, False, True, False])  # 11, 13: ##
    ids = np.array([CLS, 10, 11, 12, SEP, 13, 14, SEP, 0])
    allowed = masking.candidates(np.array([8]), np.array([4]), 9)[0]
    # "10 ##11" is one word; "##13" opens segment B, so it starts a word of its own.
    assert masking.words(ids, allowed, continuation) == [(1, 3), (3, 4), (5, 6), (6, 7)]


def test_choose_spans_whole_words_fill_the_budget_without_splitting_words():
    spans = [(1, 3), (3, 4), (4, 5), (5, 8), (9, 10)]
    for seed in range(30):
        chosen = masking.choose_spans(spans, 4, 1, draws_for(seed, 1, 0))
        assert set(chosen) <= set(spans)
        assert sum(e - b for b, e in chosen) <= 4
        assert chosen == masking.choose_spans(spans, 4, 1, draws_for(seed, 1, 0))


def test_choose_spans_ngrams_are_contiguous_words_and_never_overlap():
    spans = [(1, 2), (2, 3), (3, 5), (6, 7), (7, 8), (8, 9)]  # 5 -> 6: not contiguous
    allowed_ngrams = {(b, e) for b, e in spans} | {
        (1, 3), (2, 5), (1, 5), (6, 8), (7, 9), (6, 9),
    }  # fmt: skip
    sizes = set()
    for seed in range(200):
        chosen = masking.choose_spans(spans, 5, 3, draws_for(seed, 2, 0))
        assert set(chosen) <= allowed_ngrams
        covered = [p for b, e in chosen for p in range(b, e)]
        assert len(covered) == len(set(covered)) <= 5
        sizes |= {e - b for b, e in chosen}
    assert sizes >= {1, 2, 3}


def test_choose_words_gives_one_action_per_word():
    continuation = np.zeros(20, bool)
    continuation[11] = True
    ids = np.array([[CLS, 10, 11, 12, SEP, 13, 14, SEP]])
    allowed = masking.candidates(np.array([8]), np.array([4]), 8)
    for seed in range(20):
        chosen, valid, actions, _ = masking.choose_words(
            ids, allowed, np.array([5]), continuation, 1, [draws_for(seed, 0, 0)], 20, 5
        )
        picked = chosen[0][valid[0]].tolist()
        assert sorted(picked) == [1, 2, 3, 5, 6]  # Budget 5 = every token: all words.
        action = dict(zip(picked, actions[0][valid[0]].tolist()))
        assert action[1] == action[2]  # "10 ##11" shares one 80/10/10 draw.


def test_assemble_lays_out_cls_a_sep_b_sep_with_segments():
    flat = np.arange(100, 120, dtype=np.int32)
    pairs = [Pair(0, 2, 5, 8, True), Pair(10, 11, 12, 13, False)]
    out = Assembled(pairs, flat, 10, CLS, SEP)
    assert out.input_ids.tolist() == [
        [CLS, 100, 101, SEP, 105, 106, 107, SEP, 0, 0],
        [CLS, 110, SEP, 112, SEP, 0, 0, 0, 0, 0],
    ]
    assert out.segment_ids.tolist() == [[0, 0, 0, 0, 1, 1, 1, 1, 0, 0], [0, 0, 0, 1, 1] + [0] * 5]
    assert out.input_mask.tolist() == [[1] * 8 + [0] * 2, [1] * 5 + [0] * 5]
    assert out.lengths.tolist() == [8, 5] and out.first_sep.tolist() == [3, 2]
    assert out.next_sentence_labels.tolist() == [[1], [0]]
