"""Tests for dynamic masking: exact keyed draws, resume, fixed validation masks, statistics."""

import io

import numpy as np
import pytest
import tensorflow as tf

from components import features, vocabulary
from components.corpus import documents
from components.errors import BertpipeError
from components.example_gen import ExampleGenConfig
from components.example_gen.generator import ExampleGenerator
from components.example_gen.stats import ExampleGenStats
from components.trainer.configs import DataConfig, MaskingConfig
from components.trainer.dynamic_masking import DynamicMasker
from components.trainer.models import bert
from components.trainer.pretrain_dataloader import BertPretrainDataLoader
from pipelines import corpora
from tests.components.example_gen.helpers import TOKENS, write_vocab
from tests.components.trainer import records

CLS, SEP, MASK = 2, 3, 4
# Two sequences: [CLS] 5 6 7 [SEP] 8 9 [SEP] pad... and [CLS] 11 12 13 14 15 [SEP] pad...
IDS = np.array(
    [[CLS, 5, 6, 7, SEP, 8, 9, SEP, 0, 0], [CLS, 11, 12, 13, 14, 15, SEP, 0, 0, 0]], np.int32
)
MASK_ROWS = (IDS > 0).astype(np.int32)


def _mask(config: MaskingConfig, step: int, max_predictions: int = 4, training: bool = True):
    masker = DynamicMasker(config, TOKENS, max_predictions)
    seed = masker.seed_for(tf.constant(step, tf.int64), training)
    out = masker(tf.constant(IDS), tf.constant(MASK_ROWS), seed)
    return {k: v.numpy() for k, v in out.items()}, seed


def _expected(config: MaskingConfig, seed, max_predictions: int) -> dict:
    """The same draws, chosen and applied one row at a time in plain Python."""
    key_seed, action_seed, token_seed = tf.random.experimental.stateless_split(seed, 3)
    keys = tf.random.stateless_uniform(IDS.shape, key_seed).numpy()
    actions = tf.random.stateless_uniform(IDS.shape, action_seed).numpy()
    randoms = tf.random.stateless_uniform(
        IDS.shape, token_seed, minval=0, maxval=len(TOKENS), dtype=tf.int32
    ).numpy()
    out = {name: [] for name in ("input_ids", "positions", "labels", "weights")}
    for row, ids in enumerate(IDS.tolist()):
        length = int(MASK_ROWS[row].sum())
        n = min(max_predictions, max(1, round(length * config.masked_lm_prob)))
        candidates = [p for p in range(length) if ids[p] not in (CLS, SEP)]
        # Token masking: word k is the k-th candidate; its key is keys[row, k].
        order = sorted(range(len(candidates)), key=lambda k: keys[row, k])[:n]
        masked = list(ids)
        for k in order:
            p, a = candidates[k], actions[row, k]
            if a < config.mask_token_prob:
                masked[p] = MASK
            elif a >= 1 - config.random_token_prob:
                masked[p] = int(randoms[row, p])
        positions = sorted(candidates[k] for k in order)
        pad = max_predictions - len(positions)
        out["input_ids"].append(masked)
        out["positions"].append(positions + [0] * pad)
        out["labels"].append([ids[p] for p in positions] + [0] * pad)
        out["weights"].append([1.0] * len(positions) + [0.0] * pad)
    return {k: np.array(v) for k, v in out.items()}


@pytest.mark.parametrize("step", [0, 7])
def test_masks_for_a_fixed_seed_and_step_equal_a_direct_computation(step):
    config = MaskingConfig(masked_lm_prob=0.4, seed=3)
    got, seed = _mask(config, step)
    want = _expected(config, seed, 4)
    np.testing.assert_array_equal(got["input_ids"], want["input_ids"])
    np.testing.assert_array_equal(got["masked_lm_positions"], want["positions"])
    np.testing.assert_array_equal(got["masked_lm_ids"], want["labels"])
    np.testing.assert_array_equal(got["masked_lm_weights"], want["weights"])


def test_mask_everything_gives_the_hand_computed_positions():
    config = MaskingConfig(masked_lm_prob=1.0, mask_token_prob=1.0, random_token_prob=0.0)
    got, _ = _mask(config, step=0, max_predictions=5)
    assert got["masked_lm_positions"].tolist() == [[1, 2, 3, 5, 6], [1, 2, 3, 4, 5]]
    assert got["masked_lm_ids"].tolist() == [[5, 6, 7, 8, 9], [11, 12, 13, 14, 15]]
    assert got["input_ids"].tolist() == [
        [CLS, MASK, MASK, MASK, SEP, MASK, MASK, SEP, 0, 0],
        [CLS, MASK, MASK, MASK, MASK, MASK, SEP, 0, 0, 0],
    ]


def test_whole_word_masking_takes_a_piece_with_its_word():
    # Row 2: 11 ("dog") 12 ("##s") is one word; masking 2 of 5 tokens.
    config = MaskingConfig(masked_lm_prob=0.4, whole_word_mask=True)
    for step in range(20):
        got, _ = _mask(config, step)
        positions = set(got["masked_lm_positions"][1][got["masked_lm_weights"][1] > 0].tolist())
        assert (1 in positions) == (2 in positions), step


def test_same_step_same_masks_other_step_other_masks():
    config = MaskingConfig(masked_lm_prob=0.5, seed=1)
    first, _ = _mask(config, 4)
    again, _ = _mask(config, 4)
    others = [_mask(config, s)[0]["masked_lm_positions"].tolist() for s in range(5, 15)]
    assert first["masked_lm_positions"].tolist() == again["masked_lm_positions"].tolist()
    assert any(o != first["masked_lm_positions"].tolist() for o in others)


def _sequence_records(data: bytes, tokens, seq_length: int = 128) -> list[bytes]:
    config = ExampleGenConfig(
        format="sequences", seq_length=seq_length, max_predictions_per_seq=3, eval_fraction=0.0
    )
    docs = list(documents.read_documents(io.BytesIO(data), documents.Segment("c", 0, len(data))))
    stats = ExampleGenStats.empty(seq_length, config.max_predictions_per_seq)
    generated = ExampleGenerator(config, tokens).generate(0, docs, stats)
    return [r for _, batch in generated for r in batch]


def _data(path, vocab_path, **kwargs) -> DataConfig:
    masking = MaskingConfig(vocab_path=vocab_path, **kwargs.pop("masking", {}))
    return DataConfig(
        input_path=path,
        global_batch_size=kwargs.pop("global_batch_size", 4),
        seq_length=kwargs.pop("seq_length", 16),
        max_predictions_per_seq=kwargs.pop("max_predictions_per_seq", 3),
        record_format="sequences",
        use_next_sentence_label=False,
        masking=masking,
        **kwargs,
    )


@pytest.fixture
def small_split(tmp_path):
    text = b"".join(b"The cat sat. A b.\nThe dog ran.\n\nC d. The cats.\n\n" for _ in range(12))
    serialized = _sequence_records(text, TOKENS, seq_length=16)
    path = records.write_records(str(tmp_path / "seq.tfrecord"), serialized)
    return path, write_vocab(tmp_path), serialized, tmp_path


def test_resumed_run_masks_a_step_as_the_uninterrupted_run(small_split):
    path, vocab, serialized, tmp_path = small_split
    train = {"is_training": True, "seed": 5, "shuffle_buffer_size": 1}
    uninterrupted = BertPretrainDataLoader(_data(path, vocab, **train)).load()
    batches = [b for _, b in zip(range(4), uninterrupted)]
    # A run resumed at step 3 that reads the records the uninterrupted run read at step 3.
    rest = records.write_records(str(tmp_path / "rest.tfrecord"), serialized[12:16])
    resumed = BertPretrainDataLoader(_data(rest, vocab, initial_step=3, **train)).load()
    first = next(iter(resumed))
    for name in (bert.INPUT_WORD_IDS, features.MASKED_LM_POSITIONS, features.MASKED_LM_IDS):
        np.testing.assert_array_equal(first[name].numpy(), batches[3][name].numpy(), name)
    # From step 0 instead, the same records get other masks.
    fresh = next(iter(BertPretrainDataLoader(_data(rest, vocab, **train)).load()))
    assert not np.array_equal(
        fresh[features.MASKED_LM_POSITIONS].numpy(), first[features.MASKED_LM_POSITIONS].numpy()
    )


def test_validation_masks_are_the_same_on_every_run(small_split):
    path, vocab, serialized, _ = small_split
    config = _data(path, vocab, is_training=False, drop_remainder=False)
    runs = [list(BertPretrainDataLoader(config).load()) for _ in range(2)]
    assert len(runs[0]) == -(-len(serialized) // 4)
    for a, b in zip(*runs):
        for name in a:
            np.testing.assert_array_equal(a[name].numpy(), b[name].numpy(), name)
    assert set(runs[0][0]) == {
        bert.INPUT_WORD_IDS,
        bert.INPUT_MASK,
        bert.INPUT_TYPE_IDS,
        features.MASKED_LM_POSITIONS,
        features.MASKED_LM_IDS,
        features.MASKED_LM_WEIGHTS,
    }


def test_static_records_read_as_sequences_are_an_error(tmp_path):
    schema = features.MaskedLMSchema(16, 3)
    static = [schema.serialize(r) for r in records.make_records(schema, 2)]
    path = records.write_records(str(tmp_path / "static.tfrecord"), static)
    with pytest.raises(BertpipeError, match="already masked"):
        BertPretrainDataLoader(_data(path, write_vocab(tmp_path))).load()


def test_sequences_without_a_vocabulary_or_with_next_sentence_labels_are_errors():
    with pytest.raises(BertpipeError, match="masking.vocab_path"):
        BertPretrainDataLoader(_data("x", ""))
    with pytest.raises(BertpipeError, match="no next-sentence labels"):
        DataConfig(record_format="sequences")
    with pytest.raises(BertpipeError, match=r"<= 1"):
        MaskingConfig(mask_token_prob=0.95, random_token_prob=0.1)


@pytest.fixture(scope="module")
def moby_dick_masked(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("moby")
    with open(corpora.fetch("moby-dick"), "rb") as f:
        data = f.read()[:400_000]
    tokens = vocabulary.load_vocab("bert-base-uncased")
    path = records.write_records(str(tmp / "seq.tfrecord"), _sequence_records(data, tokens))
    vocab = tmp / "vocab.txt"
    vocab.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return path, str(vocab), tokens


@pytest.mark.parametrize("rate", [0.15, 0.3])
def test_real_corpus_mask_rate_and_80_10_10_match_the_config(moby_dick_masked, rate):
    path, vocab, tokens = moby_dick_masked
    config = _data(
        path, vocab, is_training=False, drop_remainder=False, global_batch_size=64,
        seq_length=128, max_predictions_per_seq=40, masking={"masked_lm_prob": rate},
    )  # fmt: skip
    batches = list(BertPretrainDataLoader(config).load())
    get = lambda name: np.concatenate([b[name].numpy() for b in batches])  # noqa: E731
    ids, mask = get(bert.INPUT_WORD_IDS), get(bert.INPUT_MASK)
    weights, positions = get(features.MASKED_LM_WEIGHTS), get(features.MASKED_LM_POSITIONS)
    labels = get(features.MASKED_LM_IDS)
    lengths = mask.sum(axis=1)
    want = np.minimum(40, np.maximum(1, np.rint(lengths * rate)))
    np.testing.assert_array_equal(weights.sum(axis=1), want)  # Exact count per sequence.
    assert abs(weights.sum() / lengths.sum() - rate) < 0.005
    rows, slots = np.nonzero(weights)
    shown, truth = ids[rows, positions[rows, slots]], labels[rows, slots]
    specials = [tokens.index(t) for t in ("[CLS]", "[SEP]", "[PAD]")]
    assert not np.isin(truth, specials).any()
    mask_id = tokens.index("[MASK]")
    assert abs(np.mean(shown == mask_id) - 0.8) < 0.01
    assert abs(np.mean(shown == truth) - 0.1) < 0.01  # (+ random draws of the same id)
    assert abs(np.mean((shown != mask_id) & (shown != truth)) - 0.1) < 0.01
