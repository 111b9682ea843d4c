"""Dynamic masking: masks drawn afresh for each batch in the input pipeline (host, tf.data).

RoBERTa, Model Garden's text dataloader, keras-hub and Hugging Face's collator mask each
sequence when it is read instead of writing `dupe_factor` masked copies. `DynamicMasker`
does that for `format: sequences` records, batch by batch, vectorised in TensorFlow:

- `n = min(max_predictions_per_seq, max(1, round(length * masked_lm_prob)))` per sequence
  (`length` counts [CLS]/[SEP]; half to even, as the example generator);
- candidates: every real token except [CLS], [SEP] and [PAD]; with whole-word masking a
  `##` piece belongs to the word before it;
- words (or tokens) are taken in a uniformly random order while the next one still fits
  in `n` (token masking: exactly `n` positions; whole-word masking stops at the first
  word that would overflow, where the static generator skips it and tries the next);
- each chosen word becomes [MASK] with `mask_token_prob`, random vocabulary tokens with
  `random_token_prob`, else stays (one draw per word, as the reference);
- the outputs are the static records' features: masked `input_ids`,
  `masked_lm_positions` (ascending, 0-padded), `masked_lm_ids`, `masked_lm_weights`.

Keys: every draw of a batch comes from stateless Philox generators seeded with
`(masking.seed, key)`, where `key` is the global step of a training batch or the index
of a validation batch (from 0, folded with a constant so the two never share draws), and
folded with the input pipeline's id when there are several. Row `i` of a batch therefore
depends only on (seed, step, i): a resumed run masks batch `k` as an uninterrupted one.
"""

from __future__ import annotations

import tensorflow as tf

from components import features, vocabulary
from components.errors import BertpipeError
from components.trainer.configs import MaskingConfig

_VALIDATION_STREAM = 1  # Folded into validation keys: disjoint from training steps.


class DynamicMasker:
    """Masks batches of unmasked sequences.

    Args:
      config: the masking parameters.
      tokens: the vocabulary in id order (must hold [PAD], [CLS], [SEP], [MASK]).
      max_predictions: `max_predictions_per_seq` of the data config.
    """

    def __init__(self, config: MaskingConfig, tokens: list[str], max_predictions: int):
        vocabulary.validate_vocab(tokens, source=config.vocab_path or "vocabulary")
        ids = {t: i for i, t in enumerate(tokens)}
        self.config = config
        self.max_predictions = max_predictions
        self.vocab_size = len(tokens)
        self.mask_id = ids[vocabulary.MASK]
        self._special = tf.constant(
            [ids[vocabulary.CLS], ids[vocabulary.SEP], ids[vocabulary.PAD]], tf.int32
        )
        self._continuation = tf.constant([t.startswith("##") for t in tokens])

    @classmethod
    def from_config(cls, config: MaskingConfig, max_predictions: int) -> DynamicMasker:
        """Reads `config.vocab_path` (any `tf.io.gfile` path)."""
        if not config.vocab_path:
            raise BertpipeError(
                "record_format=sequences needs the vocabulary to mask with: set "
                "masking.vocab_path of the data config to the examples' vocab.txt (the "
                "trainer sets it when the examples were written by bertpipe)."
            )
        return cls(config, vocabulary.read_vocab_lines(config.vocab_path), max_predictions)

    def seed_for(self, key: tf.Tensor, training: bool, pipeline: tuple[int, int] = (1, 0)):
        """The [2] int64 Philox seed of batch `key` (step or validation batch index)."""
        seed = tf.stack([tf.constant(self.config.seed, tf.int64), tf.cast(key, tf.int64)])
        if not training:
            seed = tf.random.experimental.stateless_fold_in(seed, _VALIDATION_STREAM)
        if pipeline[0] > 1:
            seed = tf.random.experimental.stateless_fold_in(seed, pipeline[1])
        return seed

    def __call__(self, input_ids: tf.Tensor, input_mask: tf.Tensor, seed: tf.Tensor) -> dict:
        """Masks a batch: [batch, seq_length] int32 ids and mask -> the masked features.

        Returns:
          `input_ids` (masked, int32), `masked_lm_positions`, `masked_lm_ids` (int32) and
          `masked_lm_weights` (float32), each [batch, max_predictions_per_seq] but the first.
        """
        c = self.config
        seq_length = tf.shape(input_ids)[1]
        key_seed, action_seed, token_seed = tf.unstack(
            tf.random.experimental.stateless_split(seed, 3)
        )
        allowed = (input_mask > 0) & ~tf.reduce_any(input_ids[..., None] == self._special, -1)
        # float64, as the generator's NumPy: 95 * 0.3 is 28.500002 in float32 (rounds to 29).
        lengths = tf.reduce_sum(tf.cast(input_mask > 0, tf.float64), axis=1)
        counts = tf.minimum(
            self.max_predictions,
            tf.maximum(1, tf.cast(tf.round(lengths * c.masked_lm_prob), tf.int32)),
        )
        if c.whole_word_mask:
            previous = tf.pad(allowed[:, :-1], [[0, 0], [1, 0]])
            starts = allowed & ~(tf.gather(self._continuation, input_ids) & previous)
        else:
            starts = allowed
        word = tf.maximum(tf.cumsum(tf.cast(starts, tf.int32), axis=1) - 1, 0)
        if c.whole_word_mask:
            take_word = self._choose_words(word, allowed, counts, key_seed)
            taken = allowed & tf.gather(take_word, word, batch_dims=1)
        else:
            taken = self._choose_tokens(word, allowed, counts, key_seed)
        shape = tf.shape(input_ids)
        action = tf.gather(
            tf.random.stateless_uniform(shape, action_seed), word, batch_dims=1
        )  # One action per word.
        random_ids = tf.random.stateless_uniform(
            shape, token_seed, minval=0, maxval=self.vocab_size, dtype=tf.int32
        )
        masked = tf.where(taken & (action < c.mask_token_prob), self.mask_id, input_ids)
        replace = taken & (action >= 1.0 - c.random_token_prob) & (action >= c.mask_token_prob)
        masked = tf.where(replace, random_ids, masked)
        positions = tf.sort(tf.where(taken, tf.range(seq_length)[None, :], seq_length), axis=1)
        positions = positions[:, : self.max_predictions]
        valid = positions < seq_length
        positions = tf.where(valid, positions, 0)
        labels = tf.where(valid, tf.gather(input_ids, positions, batch_dims=1), 0)
        return {
            features.INPUT_IDS: masked,
            features.MASKED_LM_POSITIONS: positions,
            features.MASKED_LM_IDS: labels,
            features.MASKED_LM_WEIGHTS: tf.cast(valid, tf.float32),
        }

    def _choose_tokens(self, word, allowed, counts, seed) -> tf.Tensor:
        """[batch, seq_length] bool: the `counts` allowed tokens with the smallest keys.

        The same choice as `_choose_words` when every token is a word (token k's key is
        word k's), with one `top_k` instead of sorts and segment sums.
        """
        keys = tf.gather(tf.random.stateless_uniform(tf.shape(word), seed), word, batch_dims=1)
        keys = tf.where(allowed, keys, 2.0)
        _, chosen = tf.math.top_k(-keys, k=self.max_predictions, sorted=True)
        available = tf.reduce_sum(tf.cast(allowed, tf.int32), axis=1)
        valid = tf.range(self.max_predictions)[None, :] < tf.minimum(counts, available)[:, None]
        hits = tf.one_hot(chosen, tf.shape(word)[1], on_value=True, off_value=False)
        return tf.reduce_any(hits & valid[..., None], axis=1)

    @staticmethod
    def _choose_words(word, allowed, counts, seed) -> tf.Tensor:
        """[batch, seq_length] bool by word index: words taken in random order while they fit."""
        batch, seq_length = tf.shape(word)[0], tf.shape(word)[1]
        rows = tf.broadcast_to(tf.range(batch)[:, None], tf.shape(word))
        segment = tf.boolean_mask(rows * seq_length + word, allowed)
        word_len = tf.reshape(
            tf.math.unsorted_segment_sum(tf.ones_like(segment), segment, batch * seq_length),
            [batch, seq_length],
        )
        exists = word_len > 0
        keys = tf.where(exists, tf.random.stateless_uniform(tf.shape(word), seed), 2.0)
        order = tf.argsort(keys, axis=1, stable=True)
        cum = tf.cumsum(tf.gather(word_len, order, batch_dims=1), axis=1)
        take_sorted = (cum <= counts[:, None]) & tf.gather(exists, order, batch_dims=1)
        return tf.gather(take_sorted, tf.argsort(order, axis=1), batch_dims=1)
