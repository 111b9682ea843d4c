"""Tests for the masked-LM feature schema."""

import numpy as np
import pytest
import tensorflow as tf

from components import features
from components.errors import BertpipeError


def _values(schema, seed=0):
    rng = np.random.default_rng(seed)
    seq, pred = schema.seq_length, schema.max_predictions_per_seq
    return {
        features.INPUT_IDS: rng.integers(0, 30522, seq).tolist(),
        features.INPUT_MASK: [1] * (seq - 2) + [0, 0],
        features.SEGMENT_IDS: [0] * (seq // 2) + [1] * (seq - seq // 2),
        features.MASKED_LM_POSITIONS: sorted(rng.choice(seq, pred, replace=False).tolist()),
        features.MASKED_LM_IDS: rng.integers(0, 30522, pred).tolist(),
        features.MASKED_LM_WEIGHTS: [1.0] * (pred - 1) + [0.0],
        features.NEXT_SENTENCE_LABELS: [1],
    }


def test_schema_matches_reference_table():
    schema = features.MaskedLMSchema(seq_length=128, max_predictions_per_seq=20)
    assert schema.shapes() == {
        "input_ids": (128,),
        "input_mask": (128,),
        "segment_ids": (128,),
        "masked_lm_positions": (20,),
        "masked_lm_ids": (20,),
        "masked_lm_weights": (20,),
        "next_sentence_labels": (1,),
    }
    spec = schema.parse_spec()
    assert spec["masked_lm_weights"].dtype == tf.float32
    assert all(
        spec[n].dtype == tf.int64 for n in features.FEATURE_NAMES if n != "masked_lm_weights"
    )


@pytest.mark.parametrize("seq_length,max_pred", [(128, 20), (512, 76), (16, 3)])
def test_write_then_parse_round_trips_exactly(tmp_path, seq_length, max_pred):
    schema = features.MaskedLMSchema(seq_length, max_pred)
    records = [_values(schema, seed) for seed in range(5)]
    path = str(tmp_path / "data.tfrecord.gz")
    with tf.io.TFRecordWriter(path, options="GZIP") as writer:
        for values in records:
            writer.write(schema.serialize(values))

    dataset = tf.data.TFRecordDataset(path, compression_type="GZIP").batch(5)
    parsed = schema.parse(next(iter(dataset)))
    for name in features.FEATURE_NAMES:
        np.testing.assert_array_equal(parsed[name].numpy(), np.array([r[name] for r in records]))
    single = schema.parse(schema.serialize(records[0]))
    assert single["input_ids"].shape == (seq_length,)


def test_wrong_length_names_feature_and_flag():
    schema = features.MaskedLMSchema(128, 20)
    values = _values(schema)
    values["masked_lm_ids"] = values["masked_lm_ids"][:19]
    with pytest.raises(
        BertpipeError,
        match=r"'masked_lm_ids' has length 19, expected 20 "
        r"\(max_predictions_per_seq=20\)",
    ):
        schema.serialize(values)


def test_missing_and_extra_features_are_named():
    schema = features.MaskedLMSchema(128, 20)
    values = _values(schema)
    del values["segment_ids"]
    values["token_type_ids"] = [0] * 128
    with pytest.raises(
        BertpipeError,
        match=r"missing \['segment_ids'\], unexpected "
        r"\['token_type_ids'\]",
    ):
        schema.check(values)


@pytest.mark.parametrize(
    "seq_length,max_pred,message",
    [
        (4, 1, r"seq_length must be an integer >= 5.*got 4"),
        (
            128,
            126,
            r"max_predictions_per_seq must be an integer in \[1, seq_length - 3 = 125\]"
            r".*got 126",
        ),
        (128, 0, r"got 0"),
    ],
)
def test_invalid_schema_settings_give_range_and_value(seq_length, max_pred, message):
    with pytest.raises(BertpipeError, match=message):
        features.MaskedLMSchema(seq_length, max_pred)


@pytest.mark.parametrize("seq_length,max_pred", [(128, 20), (512, 76), (16, 3)])
def test_serialize_batch_writes_the_bytes_of_deterministic_proto_serialization(
    seq_length, max_pred
):
    schema = features.MaskedLMSchema(seq_length, max_pred)
    rows = [_values(schema, seed) for seed in range(4)]
    rows[0][features.INPUT_IDS][:3] = [0, 2**40, 127]  # 1-, 6- and 1-byte varints.
    rows[1][features.MASKED_LM_WEIGHTS] = [0.5] * max_pred
    arrays = {name: np.array([r[name] for r in rows]) for name in features.FEATURE_NAMES}
    records = schema.serialize_batch(arrays)
    for row, record in zip(rows, records):
        assert record == schema.to_example(row).SerializeToString(deterministic=True)
    parsed = schema.parse(records)
    for name in features.FEATURE_NAMES:
        np.testing.assert_array_equal(parsed[name].numpy(), arrays[name])


def test_serialize_batch_rejects_wrong_shapes_and_negative_ids():
    schema = features.MaskedLMSchema(16, 3)
    arrays = {n: np.array([_values(schema)[n]]) for n in features.FEATURE_NAMES}
    with pytest.raises(BertpipeError, match=r"'segment_ids' has shape \(1, 15\), expected"):
        schema.serialize_batch({**arrays, "segment_ids": arrays["segment_ids"][:, :15]})
    with pytest.raises(BertpipeError, match="non-negative"):
        schema.serialize_batch({**arrays, "input_ids": -arrays["input_ids"] - 1})
    with pytest.raises(BertpipeError, match=r"missing \['input_mask'\]"):
        schema.serialize_batch({k: v for k, v in arrays.items() if k != "input_mask"})
