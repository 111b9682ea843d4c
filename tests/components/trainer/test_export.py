"""Tests for the exported model (docs/reference/export-format.md): layout, signatures,
load_exported, safety.

A fresh-process load of a trained model's export is in test_train_command.py.
"""

import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from components import features
from components.errors import BertpipeError
from components.tokenization import Normalization
from components.trainer import examples_metadata, experiments, export, registry
from components.trainer.models import bert
from components.trainer.models.bert_pretrainer import MLM_LOGITS, NEXT_SENTENCE_LOGITS
from tests.components.trainer.examples_dir import SCHEMA, VOCAB_SIZE, write_examples_dir


class _Doubler(tf.Module):
    """A signature module owning a variable (as fill_mask may own lookup tables)."""

    def __init__(self):
        super().__init__()
        self.factor = tf.Variable(2.0)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def __call__(self, x):
        return {"y": x * self.factor}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    root = write_examples_dir(str(tmp / "examples"))
    metadata = examples_metadata.read_examples_metadata(root)
    loaded = experiments.load_experiment("bert/tiny", params=["task.model.num_layers=1"])
    experiment = examples_metadata.apply_examples_metadata(
        loaded.config, metadata, loaded.user_keys
    )
    task = registry.get_task(experiment.task)
    model = task.build_model()
    export_dir = str(tmp / "model")
    export.export_model(
        task,
        model,
        export_dir,
        vocab_path=metadata.vocab_path,
        experiment=experiment,
        normalization=Normalization(lower_case=True),
        step=42,
        extra_signatures={"double": lambda _model: _Doubler()},
    )
    return export_dir, experiment, model, metadata


def _batch(batch=3):
    rng = np.random.default_rng(0)
    ids = rng.integers(5, VOCAB_SIZE, (batch, SCHEMA.seq_length))
    positions = np.tile(np.arange(1, SCHEMA.max_predictions_per_seq + 1), (batch, 1))
    return {
        features.INPUT_IDS: tf.constant(ids, tf.int64),
        features.INPUT_MASK: tf.ones_like(ids, tf.int64),
        features.SEGMENT_IDS: tf.zeros_like(ids, tf.int64),
        features.MASKED_LM_POSITIONS: tf.constant(positions, tf.int64),
    }


def test_export_has_the_documented_layout(exported):
    export_dir, experiment, _, metadata = exported
    for name in ("saved_model.pb", "variables", "assets/vocab.txt", "encoder/saved_model.pb"):
        assert os.path.exists(os.path.join(export_dir, name)), name
    assert tf.train.latest_checkpoint(os.path.join(export_dir, "checkpoint")).endswith("ckpt-42")
    with open(os.path.join(export_dir, "assets", "vocab.txt")) as a, open(metadata.vocab_path) as b:
        assert a.read() == b.read()
    with open(os.path.join(export_dir, "assets", export.INFO_FILENAME)) as f:
        info = json.load(f)
    assert info["global_step"] == 42
    assert (info["seq_length"], info["max_predictions_per_seq"], info["vocab_size"]) == (
        SCHEMA.seq_length,
        SCHEMA.max_predictions_per_seq,
        VOCAB_SIZE,
    )
    assert info["normalization"] == {"lower_case": True, "strip_accents": None}
    assert info["signatures"] == ["double", "fill_mask", "serving_default"]  # fill_mask: always
    assert not [p for p in os.listdir(os.path.dirname(export_dir)) if ".tmp-" in p]


def test_serving_default_returns_the_models_log_probabilities(exported):
    export_dir, _, model, _ = exported
    serving = tf.saved_model.load(export_dir).signatures[export.SERVING_DEFAULT]
    batch = _batch()
    outputs = serving(**batch)
    assert outputs[export.MASKED_LM_LOG_PROBS].shape == (
        3,
        SCHEMA.max_predictions_per_seq,
        VOCAB_SIZE,
    )
    assert outputs[export.NEXT_SENTENCE_LOGITS_OUTPUT].shape == (3, 2)
    direct = model(
        {
            bert.INPUT_WORD_IDS: tf.cast(batch[features.INPUT_IDS], tf.int32),
            bert.INPUT_MASK: tf.cast(batch[features.INPUT_MASK], tf.int32),
            bert.INPUT_TYPE_IDS: tf.cast(batch[features.SEGMENT_IDS], tf.int32),
            features.MASKED_LM_POSITIONS: tf.cast(batch[features.MASKED_LM_POSITIONS], tf.int32),
        },
        training=False,
    )
    np.testing.assert_allclose(
        outputs[export.MASKED_LM_LOG_PROBS], tf.nn.log_softmax(direct[MLM_LOGITS]), atol=1e-5
    )
    np.testing.assert_allclose(
        outputs[export.NEXT_SENTENCE_LOGITS_OUTPUT], direct[NEXT_SENTENCE_LOGITS], atol=1e-5
    )


def test_extra_signatures_attach_with_their_own_state(exported):
    export_dir, _, _, _ = exported
    double = tf.saved_model.load(export_dir).signatures["double"]
    np.testing.assert_allclose(double(x=tf.constant([1.0, 3.0]))["y"], [2.0, 6.0])


def test_load_exported_rebuilds_the_model_with_its_weights(exported):
    export_dir, experiment, model, metadata = exported
    loaded = export.load_exported(export_dir)
    assert loaded.experiment == experiment
    with open(metadata.vocab_path) as f:
        assert loaded.vocab == f.read().split()
    assert loaded.normalization == Normalization(lower_case=True)
    assert loaded.info["global_step"] == 42
    for a, b in zip(loaded.model.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert type(loaded.task).__name__ == "MaskedLMTask"


def test_an_incomplete_export_is_rejected(exported, tmp_path):
    copy = str(tmp_path / "half")
    shutil.copytree(exported[0], copy)
    os.remove(os.path.join(copy, "assets", export.INFO_FILENAME))
    with pytest.raises(
        BertpipeError, match=r"half is not a complete bertpipe model export: .*json"
    ):
        export.load_exported(copy)


def test_export_refuses_to_replace_a_directory_that_is_not_an_export(exported, tmp_path):
    _, experiment, model, metadata = exported
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    task = registry.get_task(experiment.task)
    with pytest.raises(BertpipeError, match="exists and is not a bertpipe export"):
        export.export_model(
            task,
            model,
            str(target),
            vocab_path=metadata.vocab_path,
            experiment=experiment,
            normalization=Normalization(),
            step=1,
        )
    assert (target / "notes.txt").read_text() == "keep me"
