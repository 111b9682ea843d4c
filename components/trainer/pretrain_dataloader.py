"""`BertPretrainDataLoader`: masked-LM TFRecords -> BERT pretraining model inputs.

Decodes exactly the `components/features.py` schema, so it reads what bertpipe's
`MaskedLMExampleGen` writes and, without conversion, what Google's and TF Model Garden's
`create_pretraining_data.py` write (same feature names, dtypes and lengths). Integer
features are cast to int32 (TPUs have no int64 kernels for most ops) and renamed to the
model's input names:

  input_ids -> input_word_ids, segment_ids -> input_type_ids, input_mask -> input_mask;
  masked_lm_positions, masked_lm_ids, masked_lm_weights keep their names;
  next_sentence_labels [batch, 1] -> [batch] (only with use_next_sentence_label).

A record of the wrong length fails with a message naming the feature, the expected and
found lengths and the setting to change. `tf.io.parse_example` with fixed-length features
names none of that usefully ("Number of int64 values != expected"), so the loader parses
each feature as ragged and checks its row lengths (the dense values are a reshape of the
ragged ones). The check costs decode time, not pipeline throughput that training can use:
`benchmarks/input_decoding.py` (README) measures both against the plain fixed-length parse.
"""

from __future__ import annotations

import contextlib
import re

import tensorflow as tf

from components import features
from components.errors import BertpipeError
from components.trainer import input_reader
from components.trainer.configs import DataConfig
from components.trainer.models import bert

# Every length error starts with this; `reraise_record_errors` finds it in a TF error.
_ERROR_PREFIX = "masked-LM record feature"
_ERROR_PATTERN = re.compile(re.escape(_ERROR_PREFIX) + r"[^\]]*")

_MODEL_NAMES = {
    features.INPUT_IDS: bert.INPUT_WORD_IDS,
    features.INPUT_MASK: bert.INPUT_MASK,
    features.SEGMENT_IDS: bert.INPUT_TYPE_IDS,
    features.POSITION_IDS: bert.POSITION_IDS,
}


class BertPretrainDataLoader:
    """Reads one split of masked-LM examples for BERT pretraining.

    Args:
      params: the split's `DataConfig` (paths, batch size, seq_length,
        max_predictions_per_seq, use_next_sentence_label, use_position_id, ...).
    """

    def __init__(self, params: DataConfig):
        self._params = params
        schema = params.schema
        spec = schema.parse_spec()
        if not params.use_next_sentence_label:
            del spec[features.NEXT_SENTENCE_LABELS]
        found = {f.name: f for f in features.FEATURES}
        if params.use_position_id:
            spec[features.POSITION_IDS] = tf.io.FixedLenFeature(
                [schema.length(features.POSITION_IDS_FEATURE)], tf.int64
            )
            found[features.POSITION_IDS] = features.POSITION_IDS_FEATURE
        # name -> (dtype, expected length, advice when the length is wrong)
        self._features = {
            name: (s.dtype, int(s.shape[0]), _advice(found[name], int(s.shape[0])))
            for name, s in spec.items()
        }

    def decode(self, serialized: tf.Tensor) -> dict[str, tf.Tensor]:
        """Serialized records [batch] -> schema features, dense [batch, length], int32/float32.

        Fails (InvalidArgumentError carrying the message) on a record of the wrong length.
        """
        ragged_spec = {
            name: tf.io.RaggedFeature(dtype, row_splits_dtype=tf.int32)
            for name, (dtype, _, _) in self._features.items()
        }
        parsed = tf.io.parse_example(serialized, ragged_spec)
        lengths = {name: parsed[name].row_lengths() for name in parsed}
        ok = tf.reduce_all(
            [
                tf.reduce_all(tf.equal(lengths[n], want))
                for n, (_, want, _) in self._features.items()
            ]
        )
        checked = tf.cond(ok, lambda: tf.constant(True), lambda: self._fail(lengths))
        decoded = {}
        with tf.control_dependencies([checked]):
            for name, (_, want, _) in self._features.items():
                values = tf.reshape(parsed[name].flat_values, [-1, want])
                # Keep a static batch size (drop_remainder): TPUs need static shapes.
                values.set_shape(serialized.shape[:1].concatenate([want]))
                decoded[name] = tf.cast(values, tf.int32) if values.dtype == tf.int64 else values
        return decoded

    def parse(self, decoded: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Decoded schema features -> model inputs and labels (see the module docstring)."""
        inputs = {_MODEL_NAMES.get(name, name): value for name, value in decoded.items()}
        if features.NEXT_SENTENCE_LABELS in inputs:
            inputs[features.NEXT_SENTENCE_LABELS] = tf.reshape(
                inputs[features.NEXT_SENTENCE_LABELS], [-1]
            )
        return inputs

    def load(self, input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
        """The batched dataset of model inputs for one input pipeline."""
        reader = input_reader.InputReader(self._params, self.decode, self.parse)
        return reader.read(input_context)

    def _fail(self, lengths: dict[str, tf.Tensor]) -> tf.Tensor:
        messages = []
        for name, (_, want, advice) in self._features.items():
            bad = tf.not_equal(lengths[name], want)
            found = tf.reduce_max(tf.where(bad, lengths[name], -1))
            text = tf.strings.format(
                f"{_ERROR_PREFIX} {name} has length {{}}, expected {want}{advice}", found
            )
            messages.append(tf.where(tf.reduce_any(bad), text, ""))
        messages = tf.stack(messages)
        # The first bad feature is enough: the others almost always share its cause.
        message = tf.boolean_mask(messages, tf.strings.length(messages) > 0)[0]
        with tf.control_dependencies([tf.debugging.Assert(False, [message])]):
            return tf.constant(False)


def _advice(feature: features.Feature, want: int) -> str:
    """How to fix a wrong length of `feature` (the schema says which setting sets it)."""
    if feature.name == features.POSITION_IDS:
        return (
            ": records without position_ids need use_position_id=false (bertpipe's example "
            "generator does not write them)."
        )
    # The schema's length rule for a feature is the name of the setting that sets it.
    if feature.length in ("seq_length", "max_predictions_per_seq"):
        flag = feature.length
        return (
            f" ({flag}={want}): the examples were written with another {flag}; set {flag} in "
            f"the data config to the value they were generated with (example_gen_config.json "
            f"beside them), or regenerate them with {flag}={want}."
        )
    return (
        ": these are not masked-LM pretraining records (records without "
        "next_sentence_labels need use_next_sentence_label=false)."
    )


@contextlib.contextmanager
def reraise_record_errors():
    """Turns a wrong-length record error from the input pipeline into a `BertpipeError`.

    Wrap the code that iterates the dataset (a training loop, an evaluation). Other errors
    pass through unchanged.
    """
    try:
        yield
    except tf.errors.InvalidArgumentError as e:
        match = _ERROR_PATTERN.search(e.message)
        if match is None:
            raise
        raise BertpipeError(match.group(0).strip()) from None
