"""Tests for the BERT encoder, masked-LM head and pretrainer."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from components.trainer.configs import BertConfig
from components.trainer.models import bert, bert_pretrainer

SEQ, PRED, VOCAB = 16, 4, 50


def _config(**overrides):
    return BertConfig.sized("tiny", vocab_size=VOCAB, max_position_embeddings=64, **overrides)


def _inputs(batch=2, seed=0):
    rng = np.random.default_rng(seed)
    mask = np.ones([batch, SEQ], np.int32)
    mask[:, SEQ - 5 :] = 0
    return {
        bert.INPUT_WORD_IDS: tf.constant(rng.integers(5, VOCAB, [batch, SEQ]), tf.int32),
        bert.INPUT_MASK: tf.constant(mask),
        bert.INPUT_TYPE_IDS: tf.constant(np.repeat([[0] * 6 + [1] * 10], batch, 0), tf.int32),
        bert_pretrainer.MASKED_LM_POSITIONS: tf.constant([[1, 3, 7, 0]] * batch, tf.int32),
    }


def _expected_encoder_params(c: BertConfig) -> int:
    h, i = c.hidden_size, c.intermediate_size
    embeddings = (c.vocab_size + c.max_position_embeddings + c.type_vocab_size) * h + 2 * h
    block = (h * 3 * h + 3 * h) + (h * h + h) + 2 * h + (h * i + i) + (i * h + h) + 2 * h
    return embeddings + c.num_layers * block + (h * h + h)


def _count(variables):
    return sum(int(np.prod(v.shape)) for v in variables)


@pytest.mark.parametrize("size", ["tiny", "mini"])
def test_parameter_count_matches_bert_architecture(size):
    config = BertConfig.sized(size, vocab_size=VOCAB, max_position_embeddings=64)
    model = bert_pretrainer.build_pretrainer(config, seq_length=SEQ, max_predictions_per_seq=PRED)
    h = config.hidden_size
    assert _count(model.encoder.trainable_variables) == _expected_encoder_params(config)
    # Head: transform dense + layer norm + output bias (the projection is the embedding);
    # next-sentence: dense to 2 classes.
    head = (h * h + h) + 2 * h + VOCAB
    expected = _expected_encoder_params(config) + head + (2 * h + 2)
    assert _count(model.trainable_variables) == expected
    assert len({id(v) for v in model.trainable_variables}) == len(model.trainable_variables)


def test_outputs_have_documented_shapes():
    model = bert_pretrainer.build_pretrainer(_config())
    outputs = model(_inputs(batch=3))
    assert outputs[bert_pretrainer.MLM_LOGITS].shape == (3, PRED, VOCAB)
    assert outputs[bert_pretrainer.NEXT_SENTENCE_LOGITS].shape == (3, 2)
    encoded = model.encoder(_inputs(batch=3))
    assert encoded[bert.SEQUENCE_OUTPUT].shape == (3, SEQ, 128)
    assert encoded[bert.POOLED_OUTPUT].shape == (3, 128)


def test_masked_lm_head_projects_with_the_token_embedding_matrix():
    model = bert_pretrainer.build_pretrainer(_config())
    inputs = _inputs()
    logits = model(inputs)[bert_pretrainer.MLM_LOGITS].numpy()

    head = model.masked_lm
    assert head.embedding is model.encoder.token_embedding
    sequence = model.encoder(inputs)[bert.SEQUENCE_OUTPUT].numpy()
    gathered = np.take_along_axis(
        sequence, inputs[bert_pretrainer.MASKED_LM_POSITIONS].numpy()[..., None], axis=1
    )
    hidden = head.layer_norm(head.transform(gathered.reshape([-1, 128]))).numpy()
    hidden = hidden.reshape([2, PRED, 128])
    table = model.encoder.token_embedding.embeddings.numpy()
    expected = hidden @ table.T + head.output_bias.numpy()
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-4)


def test_padding_tokens_do_not_change_other_outputs():
    model = bert_pretrainer.build_pretrainer(_config())
    inputs = _inputs()
    changed = dict(inputs)
    ids = inputs[bert.INPUT_WORD_IDS].numpy().copy()
    ids[:, SEQ - 5 :] = 7  # Only positions that input_mask marks as padding.
    changed[bert.INPUT_WORD_IDS] = tf.constant(ids)
    a = model.encoder(inputs)[bert.SEQUENCE_OUTPUT].numpy()[:, : SEQ - 5]
    b = model.encoder(changed)[bert.SEQUENCE_OUTPUT].numpy()[:, : SEQ - 5]
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_explicit_position_ids_equal_default_positions():
    model = bert_pretrainer.build_pretrainer(_config())
    inputs = _inputs()
    with_positions = {**inputs, bert.POSITION_IDS: tf.tile(tf.range(SEQ)[None], [2, 1])}
    np.testing.assert_allclose(
        model.encoder(inputs)[bert.SEQUENCE_OUTPUT].numpy(),
        model.encoder(with_positions)[bert.SEQUENCE_OUTPUT].numpy(),
        rtol=1e-6,
    )


def test_pretrainer_saves_as_saved_model_and_reloads(tmp_path):
    model = bert_pretrainer.build_pretrainer(
        _config(), seq_length=SEQ, max_predictions_per_seq=PRED
    )
    inputs = _inputs()
    spec = {k: tf.TensorSpec([None, v.shape[1]], tf.int32, name=k) for k, v in inputs.items()}

    @tf.function(input_signature=[spec])
    def serve(features):
        return model(features, training=False)

    tf.saved_model.save(model, str(tmp_path), signatures={"serving_default": serve})
    loaded = tf.saved_model.load(str(tmp_path))
    got = loaded.signatures["serving_default"](**inputs)
    want = model(inputs, training=False)
    for name in want:
        np.testing.assert_allclose(got[name].numpy(), want[name].numpy(), rtol=1e-5, atol=1e-5)


def test_mixed_bfloat16_policy_computes_in_bfloat16_with_float32_variables():
    tf_keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = bert_pretrainer.build_pretrainer(_config())
        outputs = model(_inputs(), training=True)
    finally:
        tf_keras.mixed_precision.set_global_policy("float32")
    assert outputs[bert_pretrainer.MLM_LOGITS].dtype == tf.bfloat16
    assert {v.dtype for v in model.trainable_variables} == {tf.float32}
    assert np.isfinite(outputs[bert_pretrainer.MLM_LOGITS].numpy().astype(np.float32)).all()


def test_pretrainer_without_next_sentence_head_has_only_mlm_output():
    model = bert_pretrainer.build_pretrainer(_config(), next_sentence=False)
    assert set(model(_inputs())) == {bert_pretrainer.MLM_LOGITS}
    assert set(model.checkpoint_items) == {"encoder", "masked_lm"}


def test_weights_are_initialized_independently_with_bert_stddev():
    model = bert_pretrainer.build_pretrainer(_config(), seq_length=SEQ)
    kernels = [
        v.numpy() for v in model.trainable_variables if "kernel" in v.name or "embeddings" in v.name
    ]
    for i, a in enumerate(kernels):
        assert 0.015 < a.std() < 0.025  # truncated normal, stddev 0.02
        for b in kernels[i + 1 :]:
            assert a.shape != b.shape or not np.array_equal(a, b)
