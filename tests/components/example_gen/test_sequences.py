"""Tests for packed sequences (`format: sequences`): packing, records, stats."""

import numpy as np
import pytest
import tensorflow as tf

from components import features, vocabulary
from components.errors import BertpipeError
from components.example_gen import ExampleGenConfig, sequences
from components.example_gen.instances import TokenizedDocument
from pipelines import corpora
from tests.components.example_gen.helpers import CLS, SEP, generate

SEQ = {"format": "sequences", "eval_fraction": 0.0, "seq_length": 12}
SEQ["max_predictions_per_seq"] = 2


def _doc(*lengths, at=0):
    """A TokenizedDocument of consecutive sentences of these lengths, starting at `at`."""
    starts = np.cumsum([at, *lengths[:-1]]).tolist()
    return TokenizedDocument(starts, [s + n for s, n in zip(starts, lengths)])


def test_pack_full_sentences_crosses_documents_with_a_separator():
    docs = [_doc(2, 1), _doc(2, at=3)]  # [a b][c] and [d e]
    packed = sequences.pack(docs, max_tokens=6, cross_documents=True)
    assert packed.pieces == [[(0, 2), (2, 3), sequences.SEPARATOR, (3, 5)]]
    assert packed.split_sentences == 0


def test_pack_starts_a_new_sequence_when_the_separator_does_not_fit():
    docs = [_doc(3, 2), _doc(4, at=5)]
    packed = sequences.pack(docs, max_tokens=6, cross_documents=True)
    assert packed.pieces == [[(0, 3), (3, 5)], [(5, 9)]]


def test_pack_doc_sentences_never_crosses_a_document():
    docs = [_doc(2, 1), _doc(2, at=3)]
    packed = sequences.pack(docs, max_tokens=6, cross_documents=False)
    assert packed.pieces == [[(0, 2), (2, 3)], [(3, 5)]]


def test_pack_cuts_a_long_sentence_into_pieces_and_counts_it():
    packed = sequences.pack([_doc(1, 9)], max_tokens=4, cross_documents=True)
    assert packed.pieces == [[(0, 1)], [(1, 5)], [(5, 9)], [(9, 10)]]
    assert packed.split_sentences == 1
    covered = [t for seq in packed.pieces for a, b in seq for t in range(a, b)]
    assert covered == list(range(10))  # Every token, once, in order.


def test_sequence_records_are_exactly_the_hand_packed_tokens():
    data = b"The cat sat.\nA b.\n\nThe dog ran.\n"  # the cat sat . | a b . || the dog ran .
    out, stats = generate(data, ExampleGenConfig(**SEQ))
    assert out["eval"] == []
    parsed = features.SequenceSchema(12).parse(out["train"])
    # 4 + 3 tokens, then [SEP] + 4 would make 12 > 10: a second sequence.
    assert parsed["input_ids"].numpy().tolist() == [
        [CLS, 5, 6, 7, 10, 8, 9, 10, SEP, 0, 0, 0],
        [CLS, 5, 11, 13, 10, SEP, 0, 0, 0, 0, 0, 0],
    ]
    assert parsed["input_mask"].numpy().sum(axis=1).tolist() == [9, 6]
    assert not parsed["segment_ids"].numpy().any()
    train = stats.splits["train"]
    assert train.counts["instances"] == 2 and train.counts["masked_tokens"] == 0
    assert train.sequence_length[[9, 6]].tolist() == [1, 1]


def test_sequence_records_hold_no_mask_features():
    out, _ = generate(b"The cat sat.\n\nA b.\n", ExampleGenConfig(**SEQ))
    for record in out["train"]:
        names = set(tf.train.Example.FromString(record).features.feature)
        assert names == set(features.SEQUENCE_FEATURE_NAMES)


def test_sequences_are_written_once_whatever_the_dupe_factor():
    data = b"The cat sat.\n\nA b.\n"
    once, _ = generate(data, ExampleGenConfig(**SEQ, dupe_factor=1))
    many, _ = generate(data, ExampleGenConfig(**SEQ, dupe_factor=5))
    assert once == many and len(once["train"]) == 1


def test_unknown_format_or_packing_is_an_error_naming_the_choices():
    with pytest.raises(BertpipeError, match=r"format must be one of \['static', 'sequences'\]"):
        ExampleGenConfig(format="roberta")
    with pytest.raises(BertpipeError, match="packing must be one of"):
        ExampleGenConfig(packing="full")


def test_real_corpus_sequences_hold_every_token_once():
    with open(corpora.fetch("moby-dick"), "rb") as f:
        data = f.read()[:300_000]
    tokens = vocabulary.load_vocab("bert-base-uncased")
    config = ExampleGenConfig(format="sequences", seq_length=128, eval_fraction=0.1)
    out, stats = generate(data, config, tokens)
    parsed = features.SequenceSchema(128).parse(out["train"] + out["eval"])
    ids, mask = parsed["input_ids"].numpy(), parsed["input_mask"].numpy()
    sep = tokens.index("[SEP]")
    real = ids[mask == 1]
    documents_in_split = [stats.splits[s].counts["documents"] for s in ("train", "eval")]
    # Every token once, plus [CLS]/[SEP] per sequence and one [SEP] per document joint.
    specials = len(ids) * 2 + (np.sum(real == sep) - len(ids))
    assert len(real) - specials == stats.total("tokens")
    assert np.sum(real == sep) - len(ids) <= sum(documents_in_split)
    assert stats.total("instances") == len(ids)
    lengths = mask.sum(axis=1)
    # Whole sentences only: Moby-Dick's long sentences leave 106 of 128 tokens used on average.
    assert lengths.max() == 128 and np.mean(lengths) > 100
