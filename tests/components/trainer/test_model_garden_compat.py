"""Records written by TF Model Garden's create_pretraining_data read without conversion.

The fixture in testdata/model_garden/ was written by Model Garden's own script from a
hand-written corpus (`regenerate.py` there holds the exact command); expected.json holds
the feature values that script logged for every record it wrote.
"""

import json
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from components import features
from components.trainer.configs import DataConfig
from components.trainer.models import bert
from components.trainer.pretrain_dataloader import BertPretrainDataLoader

FIXTURE = pathlib.Path(__file__).parent / "testdata" / "model_garden"
EXPECTED = json.loads((FIXTURE / "expected.json").read_text())
MODEL_NAMES = {
    features.INPUT_IDS: bert.INPUT_WORD_IDS,
    features.INPUT_MASK: bert.INPUT_MASK,
    features.SEGMENT_IDS: bert.INPUT_TYPE_IDS,
}


def _load(name):
    config = DataConfig(
        input_path=str(FIXTURE / name),
        global_batch_size=4,
        is_training=False,
        drop_remainder=False,
        seq_length=EXPECTED["seq_length"],
        max_predictions_per_seq=EXPECTED["max_predictions_per_seq"],
    )
    batches = list(BertPretrainDataLoader(config).load())
    return {k: np.concatenate([b[k].numpy() for b in batches]) for k in batches[0]}


def _tf_train_examples(name):
    compression = "GZIP" if name.endswith(".gz") else ""
    dataset = tf.data.TFRecordDataset(str(FIXTURE / name), compression_type=compression)
    return [tf.train.Example.FromString(r.numpy()).features.feature for r in dataset]


@pytest.mark.parametrize("name", ["mg.tfrecord", "mg.tfrecord.gz"])
def test_model_garden_records_equal_what_its_script_logged(name):
    expected = EXPECTED[name]
    got = _load(name)
    assert len(got[bert.INPUT_WORD_IDS]) == expected["total_written"]
    assert len(expected["examples"]) == expected["total_written"]  # it logged them all
    for i, example in enumerate(expected["examples"]):
        for feature in features.FEATURE_NAMES:
            value = got[MODEL_NAMES.get(feature, feature)][i]
            want = example[feature]
            if feature == features.NEXT_SENTENCE_LABELS:
                want = want[0]
            np.testing.assert_array_equal(value, want, err_msg=f"record {i} {feature}")


@pytest.mark.parametrize("name", ["mg.tfrecord", "mg.tfrecord.gz"])
def test_model_garden_records_equal_independent_tf_train_example_decoding(name):
    got = _load(name)
    for i, feature_map in enumerate(_tf_train_examples(name)):
        assert set(feature_map) == set(features.FEATURE_NAMES)
        for feature in features.FEATURE_NAMES:
            raw = feature_map[feature]
            values = (
                raw.float_list.value
                if feature == features.MASKED_LM_WEIGHTS
                else raw.int64_list.value
            )
            want = list(values)
            if feature == features.NEXT_SENTENCE_LABELS:
                want = want[0]
            np.testing.assert_array_equal(got[MODEL_NAMES.get(feature, feature)][i], want)


def test_model_garden_tokens_match_the_fixture_vocabulary():
    vocab = (FIXTURE / "vocab.txt").read_text().split("\n")
    got = _load("mg.tfrecord")
    for i, example in enumerate(EXPECTED["mg.tfrecord"]["examples"]):
        length = int(got[bert.INPUT_MASK][i].sum())
        tokens = [vocab[t] for t in got[bert.INPUT_WORD_IDS][i][:length]]
        assert tokens == example["tokens"]
