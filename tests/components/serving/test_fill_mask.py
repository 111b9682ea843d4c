"""Tests for the raw-text `fill_mask` signature."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from components.errors import BertpipeError
from components.serving import fill_mask
from components.tokenization import Normalization, WordPieceTokenizer
from components.trainer import registry
from tests.components import tiny_model
from tests.conftest import REPO_ROOT

NORM = Normalization(lower_case=True)
VOCAB = list(tiny_model.VOCAB)
TEXTS = ["The whale swam into the [MASK].", "[MASK] me Ishmael, [MASK] [mask]!"]


@pytest.fixture(scope="module")
def model():
    tf.keras.utils.set_random_seed(0)
    return registry.get_task(tiny_model.tiny_config()).build_model()


def _expected_ids(text: str, seq_length: int = tiny_model.SEQ_LENGTH) -> list[int]:
    """The shared tokenizer on the text between the markers, [MASK] spliced in, padded."""
    tokenizer = WordPieceTokenizer(VOCAB, NORM)
    pieces = text.split("[MASK]")
    ids = [2]
    for i, piece_ids in enumerate(tokenizer.tokenize(pieces).to_list()):
        ids += piece_ids + ([4] if i < len(pieces) - 1 else [])
    ids.append(3)
    return ids + [0] * (seq_length - len(ids))


def test_fill_mask_tokenizes_like_the_shared_tokenizer_around_each_marker(model):
    module = fill_mask.FillMask(model, VOCAB, NORM, tiny_model.SEQ_LENGTH, top_k=4)
    out = module(tf.constant(TEXTS))
    assert out[fill_mask.INPUT_IDS].numpy().tolist() == [_expected_ids(t) for t in TEXTS]
    # "[mask]" in lower case is text: "[", "mask", "]".
    assert [VOCAB[i] for i in out[fill_mask.INPUT_IDS].numpy()[1][8:12]] == ["[", "mask", "]", "!"]
    assert out[fill_mask.NUM_MASKS].numpy().tolist() == [1, 2]
    assert out[fill_mask.MASK_POSITIONS].numpy().tolist() == [[6, 0], [1, 7]]


def test_fill_mask_scores_are_the_models_log_probabilities_at_the_markers(model):
    module = fill_mask.FillMask(model, VOCAB, NORM, tiny_model.SEQ_LENGTH, top_k=5)
    out = module(tf.constant(TEXTS[:1]))
    ids = out[fill_mask.INPUT_IDS].numpy().astype(np.int32)
    logits = model(
        {
            "input_word_ids": ids,
            "input_mask": (ids != 0).astype(np.int32),
            "input_type_ids": np.zeros_like(ids),
            "masked_lm_positions": np.array([[6]], np.int32),
        },
        training=False,
    )["mlm_logits"].numpy()[0, 0]
    log_probs = logits - np.log(np.sum(np.exp(logits - logits.max()))) - logits.max()
    for special in (0, 2, 3, 4):  # never proposed: [PAD] [CLS] [SEP] [MASK]
        log_probs[special] = -np.inf
    best = np.argsort(-log_probs)[:5]
    assert out[fill_mask.TOKEN_IDS].numpy()[0, 0].tolist() == best.tolist()
    np.testing.assert_allclose(out[fill_mask.SCORES].numpy()[0, 0], log_probs[best], rtol=1e-5)
    assert [t.decode() for t in out[fill_mask.TOKENS].numpy()[0, 0]] == [VOCAB[i] for i in best]


def test_fill_mask_pads_texts_with_fewer_markers(model):
    out = fill_mask.FillMask(model, VOCAB, NORM, tiny_model.SEQ_LENGTH, top_k=3)(tf.constant(TEXTS))
    assert out[fill_mask.TOKEN_IDS].numpy()[0, 1].tolist() == [-1, -1, -1]
    assert out[fill_mask.TOKENS].numpy()[0, 1].tolist() == [b"", b"", b""]
    assert out[fill_mask.SCORES].numpy()[0, 1].tolist() == [0.0, 0.0, 0.0]


def test_fill_mask_without_a_marker_names_the_input(model):
    module = fill_mask.FillMask(model, VOCAB, NORM, tiny_model.SEQ_LENGTH, top_k=3)
    with pytest.raises(tf.errors.InvalidArgumentError) as error:
        module(tf.constant(["a [MASK] here", "no marker here"]))
    assert (
        'input text at index [1] has no [MASK]: [\\"no marker here\\"]; every text needs the '
        "marker [MASK] (upper case)" in error.value.message
    )


def test_fill_mask_with_a_marker_past_seq_length_says_to_shorten_it(model):
    module = fill_mask.FillMask(model, VOCAB, NORM, tiny_model.SEQ_LENGTH, top_k=3)
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=r"beyond the first 16 tokens the model reads"
    ):
        module(tf.constant(["the " * 14 + "[MASK]"]))


def test_fill_mask_rejects_top_k_outside_the_candidates(model):
    with pytest.raises(BertpipeError, match=r"top_k must be an integer in \[1, 36\]"):
        fill_mask.FillMask(model, VOCAB, NORM, tiny_model.SEQ_LENGTH, top_k=37)


_FRESH_PROCESS = """
import json, sys
import tensorflow as tf
import tensorflow_text  # registers the tokenizer ops the signature uses
fn = tf.saved_model.load(sys.argv[1]).signatures["fill_mask"]
out = fn(text=tf.constant(json.loads(sys.argv[2])))
result = {k: v.numpy().tolist() for k, v in out.items() if k != "tokens"}
result["tokens"] = [[[t.decode() for t in m] for m in row] for row in out["tokens"].numpy()]
try:
    fn(text=tf.constant(["no marker"]))
except tf.errors.InvalidArgumentError as e:
    result["error"] = e.message
print("RESULT " + json.dumps(result))
"""


def test_saved_fill_mask_returns_k_vocabulary_tokens_per_marker_in_a_fresh_process(model, tmp_path):
    root = tf.Module()
    root.model = model
    signature = fill_mask.fill_mask_function(model, VOCAB, NORM, tiny_model.SEQ_LENGTH, 5)
    tf.saved_model.save(root, str(tmp_path), signatures={fill_mask.SIGNATURE_NAME: signature})
    del root, signature

    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS, str(tmp_path), json.dumps(TEXTS)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    assert result["num_masks"] == [1, 2]
    assert result["input_ids"] == [_expected_ids(t) for t in TEXTS]
    for row, count in enumerate(result["num_masks"]):
        for m in range(count):
            tokens, ids = result["tokens"][row][m], result["token_ids"][row][m]
            assert len(tokens) == 5 and len(set(ids)) == 5
            assert tokens == [VOCAB[i] for i in ids]
            assert not {"[PAD]", "[CLS]", "[SEP]", "[MASK]"} & set(tokens)
            scores = result["scores"][row][m]
            assert scores == sorted(scores, reverse=True) and all(s < 0 for s in scores)
    assert "input text at index [0] has no [MASK]" in result["error"]


def test_predictions_format_the_signature_outputs(model):
    out = fill_mask.FillMask(model, VOCAB, NORM, tiny_model.SEQ_LENGTH, top_k=4)(tf.constant(TEXTS))
    fills = fill_mask.predictions(out, top_k=2)
    assert [len(masks) for masks in fills] == [1, 2]
    assert fills[1][1][0] == (
        out[fill_mask.TOKENS].numpy()[1, 1, 0].decode(),
        pytest.approx(float(out[fill_mask.SCORES].numpy()[1, 1, 0])),
    )
    assert all(len(fill) == 2 for masks in fills for fill in masks)
    with pytest.raises(BertpipeError, match=r"returns 4 fills per \[MASK\]; ask for 1 to 4"):
        fill_mask.predictions(out, top_k=5)
