"""Tests for BertPretrainDataLoader: schema records -> model inputs."""

import numpy as np
import pytest
import tensorflow as tf

from components import features
from components.errors import BertpipeError
from components.trainer.configs import DataConfig
from components.trainer.models import bert
from components.trainer.pretrain_dataloader import BertPretrainDataLoader, reraise_record_errors
from tests.components.trainer import records

SCHEMA = features.MaskedLMSchema(24, 4)
MODEL_NAMES = {
    features.INPUT_IDS: bert.INPUT_WORD_IDS,
    features.INPUT_MASK: bert.INPUT_MASK,
    features.SEGMENT_IDS: bert.INPUT_TYPE_IDS,
}


def _config(path, **kwargs):
    return DataConfig(
        input_path=path,
        global_batch_size=kwargs.pop("global_batch_size", 5),
        is_training=False,
        drop_remainder=False,
        seq_length=kwargs.pop("seq_length", SCHEMA.seq_length),
        max_predictions_per_seq=kwargs.pop("max_predictions_per_seq", 4),
        **kwargs,
    )


def _read_all(config):
    batches = list(BertPretrainDataLoader(config).load())
    return {name: np.concatenate([b[name].numpy() for b in batches]) for name in batches[0]}


@pytest.mark.parametrize("gzip", [True, False], ids=["gzip", "plain"])
def test_records_from_example_gen_layout_read_back_identically(tmp_path, gzip):
    written = records.make_records(SCHEMA, 12)
    pattern = records.write_split(str(tmp_path), "train", SCHEMA, written, 3, gzip=gzip)
    got = _read_all(_config(pattern))

    order = np.argsort(got[bert.INPUT_WORD_IDS][:, 1])  # shards interleave; sort by id
    for name in features.FEATURE_NAMES:
        want = np.array([r[name] for r in written])
        value = got[MODEL_NAMES.get(name, name)][order]
        if name == features.NEXT_SENTENCE_LABELS:
            want = want[:, 0]
        np.testing.assert_array_equal(value, want, err_msg=name)
    assert set(got) == {MODEL_NAMES.get(n, n) for n in features.FEATURE_NAMES}
    for name, value in got.items():
        want_dtype = np.float32 if name == features.MASKED_LM_WEIGHTS else np.int32
        assert value.dtype == want_dtype, name


def test_batches_have_static_model_input_shapes(tmp_path):
    path = records.write_records(
        str(tmp_path / "a.tfrecord"), [SCHEMA.serialize(r) for r in records.make_records(SCHEMA, 4)]
    )
    config = DataConfig(
        input_path=path, global_batch_size=2, seq_length=24, max_predictions_per_seq=4
    )
    spec = BertPretrainDataLoader(config).load().element_spec
    assert spec[bert.INPUT_WORD_IDS].shape == (2, 24)
    assert spec[features.MASKED_LM_WEIGHTS].shape == (2, 4)
    assert spec[features.NEXT_SENTENCE_LABELS].shape == (2,)


def _mixed_file(tmp_path, bad: bytes, bad_first: bool) -> str:
    good = [SCHEMA.serialize(r) for r in records.make_records(SCHEMA, 7)]
    serialized = [bad, *good] if bad_first else [*good, bad, *good]
    return records.write_records(str(tmp_path / "mixed.tfrecord"), serialized)


WRONG_LENGTHS = [
    (
        (16, 4),
        {"seq_length": 24},
        r"masked-LM record feature (input_ids|input_mask|segment_ids) has length 16, expected "
        r"24 \(seq_length=24\): the examples were written with another seq_length; set "
        r"seq_length in the data config to the value they were generated with",
    ),
    (
        (24, 3),
        {"max_predictions_per_seq": 4},
        r"feature masked_lm_(positions|ids|weights) has length 3, expected 4 "
        r"\(max_predictions_per_seq=4\).*set max_predictions_per_seq",
    ),
]


@pytest.mark.parametrize("written,read,message", WRONG_LENGTHS, ids=["seq", "predictions"])
def test_wrong_length_first_record_fails_at_load_naming_file(tmp_path, written, read, message):
    other = features.MaskedLMSchema(*written)
    path = _mixed_file(tmp_path, other.serialize(records.make_records(other, 1)[0]), True)
    with pytest.raises(BertpipeError, match=message + r".*\(in the first record of .*mixed"):
        BertPretrainDataLoader(_config(path, **read)).load()


@pytest.mark.parametrize("written,read,message", WRONG_LENGTHS, ids=["seq", "predictions"])
def test_wrong_length_later_record_fails_with_the_same_message(tmp_path, written, read, message):
    other = features.MaskedLMSchema(*written)
    path = _mixed_file(tmp_path, other.serialize(records.make_records(other, 1)[0]), False)
    dataset = BertPretrainDataLoader(_config(path, **read)).load()
    # TensorFlow's own error names the feature and both lengths ...
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Values size: \d+ but output"):
        list(dataset)
    # ... and reraise_record_errors words it like the up-front check.
    with pytest.raises(BertpipeError, match=message), reraise_record_errors():
        list(dataset)


def test_missing_feature_in_a_later_record_is_named(tmp_path):
    values = records.make_records(SCHEMA, 1)[0]
    del values[features.NEXT_SENTENCE_LABELS]
    path = _mixed_file(tmp_path, records.example_with(values), False)
    with (
        pytest.raises(BertpipeError, match=r"feature next_sentence_labels is missing: .*"),
        reraise_record_errors(),
    ):
        list(BertPretrainDataLoader(_config(path)).load())


def test_reraise_record_errors_passes_other_errors_through():
    with (
        pytest.raises(tf.errors.InvalidArgumentError, match="something else"),
        reraise_record_errors(),
    ):
        raise tf.errors.InvalidArgumentError(None, None, "something else")


def test_records_without_next_sentence_labels_read_when_disabled(tmp_path):
    values = records.make_records(SCHEMA, 3)
    serialized = [
        records.example_with({k: v for k, v in r.items() if k != features.NEXT_SENTENCE_LABELS})
        for r in values
    ]
    path = records.write_records(str(tmp_path / "no_nsp.tfrecord"), serialized)
    got = _read_all(_config(path, use_next_sentence_label=False))
    assert features.NEXT_SENTENCE_LABELS not in got
    np.testing.assert_array_equal(got[bert.INPUT_WORD_IDS], [r["input_ids"] for r in values])
    with pytest.raises(BertpipeError, match=r"next_sentence_labels is missing.*=false"):
        _read_all(_config(path))


def test_position_ids_are_read_only_when_asked(tmp_path):
    values = records.make_records(SCHEMA, 3)
    positions = list(range(SCHEMA.seq_length))[::-1]
    serialized = [records.example_with(r, position_ids=positions) for r in values]
    path = records.write_records(str(tmp_path / "positions.tfrecord"), serialized)
    got = _read_all(_config(path, use_position_id=True))
    np.testing.assert_array_equal(got[bert.POSITION_IDS], [positions] * 3)
    assert bert.POSITION_IDS not in _read_all(_config(path))

    plain = records.write_records(
        str(tmp_path / "plain.tfrecord"), [SCHEMA.serialize(r) for r in values]
    )
    with pytest.raises(BertpipeError, match=r"position_ids is missing.*use_position_id=false"):
        _read_all(_config(plain, use_position_id=True))
