"""`BertPretrainer`: a `BertEncoder` with the masked-LM and next-sentence heads."""

from __future__ import annotations

import tensorflow as tf
import tf_keras

from components import features
from components.trainer.configs import BertConfig
from components.trainer.models.bert import (
    INPUT_MASK,
    INPUT_TYPE_IDS,
    INPUT_WORD_IDS,
    POOLED_OUTPUT,
    SEQUENCE_OUTPUT,
    BertEncoder,
    build_encoder,
)
from components.trainer.models.masked_lm_head import MaskedLMHead
from components.trainer.models.transformer import initializer

# Extra model input (a schema feature name) and the model's output names.
MASKED_LM_POSITIONS = features.MASKED_LM_POSITIONS
MLM_LOGITS = "mlm_logits"
NEXT_SENTENCE_LOGITS = "next_sentence_logits"


class BertPretrainer(tf_keras.Model):
    """BERT pretraining model: encoder + masked-LM head (+ next-sentence head).

    Call with the encoder's inputs plus `masked_lm_positions` ([batch, max_predictions]
    int); other keys (labels) are ignored. Returns `{"mlm_logits": [batch,
    max_predictions, vocab_size], "next_sentence_logits": [batch, 2]}` (the latter only
    with `next_sentence=True`; class 1 means "B is a random sentence"), in the compute
    dtype of the mixed-precision policy.

    Args:
      encoder: the `BertEncoder`; its token embedding is the masked-LM output projection.
      next_sentence: add the next-sentence head (a dense layer over the pooled output).
    """

    def __init__(self, encoder: BertEncoder, next_sentence: bool = True, **kwargs):
        super().__init__(**kwargs)
        config = encoder.config
        self.encoder = encoder
        self.masked_lm = MaskedLMHead(
            encoder.token_embedding,
            hidden_activation=config.hidden_activation,
            initializer_range=config.initializer_range,
            name="masked_lm",
        )
        self.next_sentence = (
            tf_keras.layers.Dense(
                2, kernel_initializer=initializer(config.initializer_range), name="next_sentence"
            )
            if next_sentence
            else None
        )

    @property
    def checkpoint_items(self) -> dict[str, tf.Module]:
        """The parts an initial checkpoint may hold, by name (`Task.initialize` reads them)."""
        items = {"encoder": self.encoder, "masked_lm": self.masked_lm}
        if self.next_sentence is not None:
            items["next_sentence"] = self.next_sentence
        return items

    def call(self, inputs, training=None):
        encoded = self.encoder(inputs, training=training)
        outputs = {
            MLM_LOGITS: self.masked_lm(encoded[SEQUENCE_OUTPUT], inputs[MASKED_LM_POSITIONS])
        }
        if self.next_sentence is not None:
            outputs[NEXT_SENTENCE_LOGITS] = self.next_sentence(encoded[POOLED_OUTPUT])
        return outputs

    def get_config(self):
        return {
            "encoder": self.encoder.get_config(),
            "next_sentence": self.next_sentence is not None,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(BertEncoder(**config["encoder"]), next_sentence=config["next_sentence"])


def dummy_inputs(seq_length: int, max_predictions_per_seq: int) -> dict[str, tf.Tensor]:
    """A one-example batch of model inputs, to create the variables before training."""
    ids = tf.zeros([1, seq_length], tf.int32)
    return {
        INPUT_WORD_IDS: ids,
        INPUT_MASK: tf.ones_like(ids),
        INPUT_TYPE_IDS: ids,
        MASKED_LM_POSITIONS: tf.zeros([1, max_predictions_per_seq], tf.int32),
    }


def build_pretrainer(
    config: BertConfig,
    *,
    next_sentence: bool = True,
    seq_length: int | None = None,
    max_predictions_per_seq: int = 1,
) -> BertPretrainer:
    """A `BertPretrainer` for `config`.

    Args:
      config: the encoder architecture.
      next_sentence: add the next-sentence head.
      seq_length: when given, run the model once on dummy inputs of this length so that
        every variable exists now (needed before restoring checkpoints or building an
        optimizer under a distribution strategy); call inside `strategy.scope()`.
      max_predictions_per_seq: the dummy inputs' masked positions.
    """
    model = BertPretrainer(build_encoder(config), next_sentence=next_sentence, name="bert")
    if seq_length is not None:
        model(dummy_inputs(seq_length, max_predictions_per_seq), training=False)
    return model
