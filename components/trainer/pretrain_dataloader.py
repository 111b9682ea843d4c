"""`BertPretrainDataLoader`: masked-LM TFRecords -> BERT pretraining model inputs.

Decodes exactly the `components/features.py` schema, so it reads what bertpipe's
`MaskedLMExampleGen` writes and, without conversion, what Google's and TF Model Garden's
`create_pretraining_data.py` write (same feature names, dtypes and lengths). Integer
features are cast to int32 (TPUs have no int64 kernels for most ops) and renamed to the
model's input names:

  input_ids -> input_word_ids, segment_ids -> input_type_ids, input_mask -> input_mask;
  masked_lm_positions, masked_lm_ids, masked_lm_weights keep their names;
  next_sentence_labels [batch, 1] -> [batch] (only with use_next_sentence_label).

`record_format: sequences` records (packed, unmasked: `input_ids`, `input_mask`,
`segment_ids`) are masked as they are read (`dynamic_masking.DynamicMasker`, keyed by the
batch's step), so the model receives the same inputs as from static records, without
`next_sentence_labels`.

Records of the wrong length (examples written with another seq_length or
max_predictions_per_seq) fail with a message naming the feature, the expected and found
lengths and the setting to change, in two places, so that the hot path stays the plain
fixed-length `tf.io.parse_example` (checking every record in the graph slows the input
pipeline: `benchmarks/input_decoding.py`, figures in benchmarks/README.md):
  * `load()` checks the first record of the first file on the host before returning the
    dataset: a mismatched config fails at once, as a `BertpipeError` naming the file;
  * a wrong record further on fails inside the input pipeline with TensorFlow's own
    error ("Key: input_ids ... Values size: 16 but output shape: [128]");
    `reraise_record_errors()` around the loop that iterates the dataset turns that into a
    `BertpipeError` with the same wording as the first check; given the data config, it
    also names the file of a corrupt TFRecord (`DataLossError`).
"""

from __future__ import annotations

import contextlib
import re

import tensorflow as tf

from components import features
from components.errors import BertpipeError
from components.trainer import input_reader
from components.trainer.configs import DataConfig
from components.trainer.dynamic_masking import DynamicMasker
from components.trainer.models import bert

_MODEL_NAMES = {
    features.INPUT_IDS: bert.INPUT_WORD_IDS,
    features.INPUT_MASK: bert.INPUT_MASK,
    features.SEGMENT_IDS: bert.INPUT_TYPE_IDS,
    features.POSITION_IDS: bert.POSITION_IDS,
}
_FEATURES = {f.name: f for f in (*features.FEATURES, features.POSITION_IDS_FEATURE)}

# TensorFlow 2.16's parse_example errors (pinned by test_pretrain_dataloader.py).
_TF_LENGTH_ERROR = re.compile(
    r"Key: (\w+), Index: \d+\.\s+Number of \w+ values != expected\.\s+"
    r"Values size: (\d+) but output shape: \[(\d+)\]"
)
_TF_MISSING_ERROR = re.compile(r"Feature: (\w+) \(data type: \w+\) is required but could not")


class BertPretrainDataLoader:
    """Reads one split of masked-LM examples for BERT pretraining.

    Args:
      params: the split's `DataConfig` (paths, batch size, seq_length,
        max_predictions_per_seq, use_next_sentence_label, use_position_id, ...).
    """

    def __init__(self, params: DataConfig):
        self._params = params
        self._masker = None
        self._pipeline = (1, 0)
        if params.record_format == "sequences":
            self._spec = features.SequenceSchema(params.seq_length).parse_spec()
            self._masker = DynamicMasker.from_config(params.masking, params.max_predictions_per_seq)
        else:
            self._spec = params.schema.parse_spec()
        if features.NEXT_SENTENCE_LABELS in self._spec and not params.use_next_sentence_label:
            del self._spec[features.NEXT_SENTENCE_LABELS]
        if params.use_position_id:
            self._spec[features.POSITION_IDS] = tf.io.FixedLenFeature([params.seq_length], tf.int64)

    def decode(self, serialized: tf.Tensor, key: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        """Serialized records [batch] -> schema features [batch, length], int32/float32.

        Sequences are masked here, with the draws of batch `key` (its step or index).
        """
        parsed = tf.io.parse_example(serialized, self._spec)
        decoded = {
            name: tf.cast(value, tf.int32) if value.dtype == tf.int64 else value
            for name, value in parsed.items()
        }
        if self._masker is not None:
            seed = self._masker.seed_for(key, self._params.is_training, self._pipeline)
            masked = self._masker(decoded[features.INPUT_IDS], decoded[features.INPUT_MASK], seed)
            decoded.update(masked)
        return decoded

    def parse(self, decoded: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """Decoded schema features -> model inputs and labels (see the module docstring)."""
        inputs = {_MODEL_NAMES.get(name, name): value for name, value in decoded.items()}
        if features.NEXT_SENTENCE_LABELS in inputs:
            inputs[features.NEXT_SENTENCE_LABELS] = tf.reshape(
                inputs[features.NEXT_SENTENCE_LABELS], [-1]
            )
        return inputs

    def check_record(self, serialized: bytes, source: str = "a record") -> None:
        """Raises BertpipeError unless `serialized` has every feature at its length."""
        feature_map = tf.train.Example.FromString(serialized).features.feature
        if self._masker is not None and features.MASKED_LM_POSITIONS in feature_map:
            raise BertpipeError(
                f"record_format=sequences, but {source} is already masked (a static "
                "record): set record_format=static, or generate the examples with "
                "format: sequences."
            )
        for name, spec in self._spec.items():
            if name not in feature_map:
                raise BertpipeError(f"{_missing_message(name)} (in {source})")
            feature = feature_map[name]
            values = feature.float_list if spec.dtype == tf.float32 else feature.int64_list
            want = int(spec.shape[0])
            if len(values.value) != want:
                raise BertpipeError(
                    f"{_length_message(name, len(values.value), want)} (in {source})"
                )

    def load(self, input_context: tf.distribute.InputContext | None = None) -> tf.data.Dataset:
        """The batched dataset of model inputs for one input pipeline.

        Raises:
          BertpipeError: no file matches, or the first record has the wrong lengths.
        """
        if input_context is not None:
            self._pipeline = (input_context.num_input_pipelines, input_context.input_pipeline_id)
        reader = input_reader.InputReader(
            self._params, self.decode, self.parse, keyed=self._masker is not None
        )
        if tf.executing_eagerly():  # The host builds input pipelines eagerly.
            first = reader.first_record()
            if first is not None:
                self.check_record(first[1], source=f"the first record of {first[0]}")
        return reader.read(input_context)


def _advice(name: str, want: int | None) -> str:
    """How to fix a wrong or missing `name` (the schema says which setting sets it)."""
    if name == features.POSITION_IDS:
        return (
            "records without position_ids need use_position_id=false (bertpipe's example "
            "generator does not write them)."
        )
    if name == features.NEXT_SENTENCE_LABELS:
        return (
            "these are not masked-LM pretraining records, or were written without "
            "next-sentence labels (then set use_next_sentence_label=false)."
        )
    flag = _FEATURES[name].length
    return (
        f"the examples were written with another {flag}; set {flag} in the data config to "
        f"the value they were generated with (example_gen_config.json beside them), or "
        f"regenerate them with {flag}={want}."
    )


def _length_message(name: str, found: int, want: int) -> str:
    flag = _FEATURES[name].length
    setting = f" ({flag}={want})" if flag in ("seq_length", "max_predictions_per_seq") else ""
    return (
        f"masked-LM record feature {name} has length {found}, expected {want}{setting}: "
        f"{_advice(name, want)}"
    )


def _missing_message(name: str) -> str:
    if name in (features.POSITION_IDS, features.NEXT_SENTENCE_LABELS):
        return f"masked-LM record feature {name} is missing: {_advice(name, None)}"
    return (
        f"masked-LM record feature {name} is missing: these are not masked-LM pretraining "
        f"records (expected the features {list(features.FEATURE_NAMES)})."
    )


@contextlib.contextmanager
def reraise_record_errors(params: DataConfig | None = None):
    """Re-raises the input pipeline's record errors as BertpipeError with the fix.

    A training split with no batch (`OutOfRangeError` from the repeated input): the
    message names the split. Wrong-length or missing features: the message names the
    feature, the lengths and the setting to change. A corrupt TFRecord file
    (`DataLossError`, when `params` is given): the input files are scanned on the host and
    the message names the corrupt file. Wrap the code that iterates the dataset (a
    training loop, an evaluation). Other errors pass
    through unchanged.

    Args:
      params: the data config being read (needed to name a corrupt file).
    """
    try:
        yield
    except tf.errors.OutOfRangeError:
        # The training input repeats: it ends at once only when it has no full batch.
        if params is None or not params.is_training:
            raise
        raise BertpipeError(
            f"the training split ({', '.join(params.input_path)}) gave no batch: it holds no "
            f"records, or fewer than global_batch_size={params.global_batch_size} with "
            "drop_remainder; generate the examples from more text, or lower "
            "task.train_data.global_batch_size."
        ) from None
    except tf.errors.DataLossError:
        corrupt = None
        if params is not None:
            files = input_reader.match_files(params.input_path)
            corrupt = input_reader.find_corrupt_file(files, params.compression)
        if corrupt is None:
            raise
        name, message = corrupt
        raise BertpipeError(
            f"TFRecord file {name} is corrupt ({message}); regenerate the examples, or "
            f"remove that file from the input."
        ) from None
    except tf.errors.InvalidArgumentError as e:
        length = _TF_LENGTH_ERROR.search(e.message)
        missing = _TF_MISSING_ERROR.search(e.message)
        if length and length.group(1) in _FEATURES:
            name, found, want = length.group(1), int(length.group(2)), int(length.group(3))
            raise BertpipeError(_length_message(name, found, want)) from None
        if missing and missing.group(1) in _FEATURES:
            raise BertpipeError(_missing_message(missing.group(1))) from None
        raise
