"""Hugging Face <-> bertpipe: logits, fill-mask and tokenization equal transformers' own."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401  the fill_mask signature's ops

from components.convert import convert, huggingface, sources
from components.errors import BertpipeError
from components.serving import fill_mask
from components.tokenization import WordPieceTokenizer
from components.trainer import export
from tests.components.convert import hf_models

transformers = pytest.importorskip("transformers")

IDS = np.array([[2, 5, 4, 7, 8, 9, 10, 3], [2, 11, 12, 4, 13, 3, 0, 0]])
MASK = np.array([[1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 0, 0]])
POSITIONS = np.array([[1, 2, 5], [2, 3, 4]])
TEXTS = ["the whale [MASK] into the sea.", "a big [MASK] fish swam [MASK]!"]


def _bertpipe_outputs(model, ids=IDS, mask=MASK, positions=POSITIONS):
    return model(
        {
            "input_word_ids": tf.constant(ids, tf.int32),
            "input_mask": tf.constant(mask, tf.int32),
            "input_type_ids": tf.zeros_like(tf.constant(ids, tf.int32)),
            "masked_lm_positions": tf.constant(positions, tf.int32),
        },
        training=False,
    )


def _hf_outputs(model, ids=IDS, mask=MASK):
    return model(input_ids=tf.constant(ids), attention_mask=tf.constant(mask), training=False)


def _hf_fill_mask(directory, texts, top_k):
    """transformers' own fill-mask pipeline, less the tokens bertpipe never proposes."""
    model = transformers.TFBertForMaskedLM.from_pretrained(directory)
    tokenizer = transformers.AutoTokenizer.from_pretrained(directory)
    pipe = transformers.pipeline("fill-mask", model=model, tokenizer=tokenizer, framework="tf")
    excluded = {"[PAD]", "[CLS]", "[SEP]", "[MASK]"}
    results = []
    for text in texts:
        found = pipe(text, top_k=top_k + len(excluded))
        per_mask = found if isinstance(found[0], list) else [found]
        results.append(
            [
                [f["token_str"] for f in fills if f["token_str"] not in excluded][:top_k]
                for fills in per_mask
            ]
        )
    return results


@pytest.fixture(scope="module")
def pretraining(tmp_path_factory):
    """A random transformers BertForPreTraining, saved and converted to a bertpipe export."""
    root = tmp_path_factory.mktemp("hf")
    model = hf_models.build("BertForPreTraining", seed=0)
    hf_dir = hf_models.save(model, str(root / "hf"))
    out = convert.to_bertpipe(sources.load(hf_dir), str(root / "export"), seq_length=16)
    return model, hf_dir, out


def test_logits_equal_source_when_converting_bert_for_pretraining(pretraining):
    model, _, out = pretraining
    loaded = export.load_exported(out)
    ours = _bertpipe_outputs(loaded.model)
    theirs = _hf_outputs(model)
    expected = tf.gather(theirs.prediction_logits, POSITIONS, batch_dims=1).numpy()
    np.testing.assert_allclose(ours["mlm_logits"].numpy(), expected, atol=1e-4)
    np.testing.assert_allclose(
        ours["next_sentence_logits"].numpy(), theirs.seq_relationship_logits.numpy(), atol=1e-4
    )
    assert loaded.experiment.task.model.hidden_activation == "gelu_exact"


def test_export_records_source_normalization_and_heads(pretraining):
    loaded = export.load_exported(pretraining[2])
    assert loaded.normalization.lower_case is True
    assert loaded.info["experiment"]["task"]["train_data"]["use_next_sentence_label"] is True
    assert sorted(os.listdir(pretraining[2])) == [
        "assets",
        "checkpoint",
        "encoder",
        "fingerprint.pb",
        "saved_model.pb",
        "variables",
    ]


def test_serving_signature_equals_source_log_probs_when_converted(pretraining):
    model, _, out = pretraining
    serve = tf.saved_model.load(out).signatures["serving_default"]
    ids = np.pad(IDS, [[0, 0], [0, 8]])
    got = serve(
        input_ids=tf.constant(ids, tf.int64),
        input_mask=tf.constant(np.pad(MASK, [[0, 0], [0, 8]]), tf.int64),
        segment_ids=tf.zeros_like(tf.constant(ids, tf.int64)),
        masked_lm_positions=tf.constant(np.pad(POSITIONS, [[0, 0], [0, 10]]), tf.int64),
    )
    logits = tf.gather(_hf_outputs(model).prediction_logits, POSITIONS, batch_dims=1)
    np.testing.assert_allclose(
        got["masked_lm_log_probs"].numpy()[:, :3], tf.nn.log_softmax(logits).numpy(), atol=1e-4
    )


def test_fill_mask_top_k_equals_transformers_pipeline_when_converted(pretraining):
    _, hf_dir, out = pretraining
    signature = tf.saved_model.load(out).signatures[fill_mask.SIGNATURE_NAME]
    ours = fill_mask.predictions(signature(text=tf.constant(TEXTS)), top_k=3)
    got = [[[token for token, _ in fills] for fills in masks] for masks in ours]
    assert got == _hf_fill_mask(hf_dir, TEXTS, top_k=3)


def _converted(source):
    """A `BertPretrainer` with `source`'s weights (what `to_bertpipe` exports)."""
    from components.convert import layout
    from components.trainer.models.bert_pretrainer import build_pretrainer

    model = build_pretrainer(
        source.config, next_sentence=source.next_sentence, seq_length=8, max_predictions_per_seq=3
    )
    return model, layout.assign(model, source.weights, source.path)


def test_normalization_and_heads_follow_source_when_cased_masked_lm(tmp_path):
    model = hf_models.build("BertForMaskedLM", seed=1)
    source = sources.load(hf_models.save(model, str(tmp_path / "hf"), lower_case=False))
    assert source.normalization.lower_case is False and not source.next_sentence
    converted, fresh = _converted(source)
    assert fresh == ["bert/pooler/dense"]  # BertForMaskedLM has no pooler.
    expected = tf.gather(_hf_outputs(model).logits, POSITIONS, batch_dims=1).numpy()
    np.testing.assert_allclose(
        _bertpipe_outputs(converted)["mlm_logits"].numpy(), expected, atol=1e-4
    )


def test_encoder_output_equals_source_when_converting_bert_model(tmp_path):
    model = hf_models.build("BertModel", seed=2, hidden_act="gelu_new")
    source = sources.load(hf_models.save(model, str(tmp_path / "hf")))
    assert source.config.hidden_activation == "gelu" and not source.next_sentence
    converted, fresh = _converted(source)
    assert fresh == ["cls/predictions"]
    got = converted.encoder(
        {
            "input_word_ids": tf.constant(IDS, tf.int32),
            "input_mask": tf.constant(MASK, tf.int32),
            "input_type_ids": tf.zeros([2, 8], tf.int32),
        },
        training=False,
    )
    theirs = _hf_outputs(model)
    np.testing.assert_allclose(
        got["sequence_output"].numpy()[MASK == 1],
        theirs.last_hidden_state.numpy()[MASK == 1],
        atol=1e-4,
    )
    np.testing.assert_allclose(
        got["pooled_output"].numpy(), theirs.pooler_output.numpy(), atol=1e-4
    )


def test_round_trip_reproduces_bertpipe_logits_in_transformers(pretraining, tmp_path):
    _, _, out = pretraining
    hf_dir = str(tmp_path / "roundtrip")
    files = convert.to_huggingface(out, hf_dir)
    assert files == sorted(
        [
            "config.json",
            "model.safetensors",
            "special_tokens_map.json",
            "tokenizer_config.json",
            "vocab.txt",
        ]
    )
    loaded = export.load_exported(out)
    ours = _bertpipe_outputs(loaded.model)
    mlm, info = transformers.TFAutoModelForMaskedLM.from_pretrained(
        hf_dir, output_loading_info=True
    )
    assert info == {"missing_keys": [], "unexpected_keys": [], "mismatched_keys": []}
    logits = tf.gather(_hf_outputs(mlm).logits, POSITIONS, batch_dims=1).numpy()
    np.testing.assert_allclose(logits, ours["mlm_logits"].numpy(), atol=1e-4)
    pre = transformers.TFBertForPreTraining.from_pretrained(hf_dir)
    np.testing.assert_allclose(
        _hf_outputs(pre).seq_relationship_logits.numpy(),
        ours["next_sentence_logits"].numpy(),
        atol=1e-4,
    )


def test_round_trip_tokenizer_tokenizes_like_bertpipe(pretraining, tmp_path):
    _, _, out = pretraining
    hf_dir = str(tmp_path / "roundtrip")
    convert.to_huggingface(out, hf_dir)
    loaded = export.load_exported(out)
    texts = ["The Whales swam into the SEA!", "a café, blue fishing ships."]
    ours = WordPieceTokenizer(loaded.vocab, loaded.normalization).tokenize(texts).to_list()
    tokenizer = transformers.AutoTokenizer.from_pretrained(hf_dir)
    assert [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts] == ours
    with open(os.path.join(hf_dir, "config.json")) as f:
        assert json.load(f)["architectures"] == ["BertForPreTraining"]


def test_unsupported_position_embeddings_fail_naming_the_field(tmp_path):
    model = hf_models.build("BertForMaskedLM", position_embedding_type="relative_key")
    hf_dir = hf_models.save(model, str(tmp_path / "hf"))
    with pytest.raises(BertpipeError, match="position_embedding_type 'relative_key'"):
        sources.load(hf_dir)


def test_unknown_weights_fail_naming_them(tmp_path):
    model = hf_models.build("BertForMaskedLM")
    hf_dir = hf_models.save(model, str(tmp_path / "hf"))
    config_path = os.path.join(hf_dir, huggingface.CONFIG)
    with open(config_path) as f:
        config = json.load(f)
    config["num_hidden_layers"] = 1
    with open(config_path, "w") as f:
        json.dump(config, f)
    with pytest.raises(BertpipeError, match=r"no place for: bert\.encoder\.layer\.1\."):
        sources.load(hf_dir)
