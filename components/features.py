"""The masked-LM feature schema: the one place feature names, dtypes and shapes are spelled.

The example generator writes it, the trainer's input reader and the evaluator read it, and
the tests round-trip it. It matches the features of BERT's and TF Model Garden's
`create_pretraining_data.py` (what Model Garden's `BertPretrainDataLoader` reads), so records
from either side are interchangeable:

| feature              | dtype   | shape                     | padding |
|----------------------|---------|---------------------------|---------|
| input_ids            | int64   | [seq_length]              | 0       |
| input_mask           | int64   | [seq_length]              | 0       |
| segment_ids          | int64   | [seq_length]              | 0       |
| masked_lm_positions  | int64   | [max_predictions_per_seq] | 0       |
| masked_lm_ids        | int64   | [max_predictions_per_seq] | 0       |
| masked_lm_weights    | float32 | [max_predictions_per_seq] | 0.0     |
| next_sentence_labels | int64   | [1]                       | -       |

TensorFlow and NumPy are imported lazily so that the schema itself can be used without them.
`serialize_batch` writes a whole batch of NumPy arrays as `tf.train.Example` wire bytes
without building a proto per record (much faster than `serialize`, the same bytes as
`to_example(...).SerializeToString(deterministic=True)`): the example generator's hot path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from components.errors import BertpipeError

if TYPE_CHECKING:
    import numpy as np

INPUT_IDS = "input_ids"
INPUT_MASK = "input_mask"
SEGMENT_IDS = "segment_ids"
MASKED_LM_POSITIONS = "masked_lm_positions"
MASKED_LM_IDS = "masked_lm_ids"
MASKED_LM_WEIGHTS = "masked_lm_weights"
NEXT_SENTENCE_LABELS = "next_sentence_labels"

# Which dimension each feature's length follows.
_SEQ = "seq_length"
_PRED = "max_predictions_per_seq"
_ONE = "one"


@dataclasses.dataclass(frozen=True)
class Feature:
    """One feature of the schema: its name, dtype ('int64' or 'float32') and length rule."""

    name: str
    dtype: str
    length: str  # _SEQ, _PRED or _ONE


FEATURES: tuple[Feature, ...] = (
    Feature(INPUT_IDS, "int64", _SEQ),
    Feature(INPUT_MASK, "int64", _SEQ),
    Feature(SEGMENT_IDS, "int64", _SEQ),
    Feature(MASKED_LM_POSITIONS, "int64", _PRED),
    Feature(MASKED_LM_IDS, "int64", _PRED),
    Feature(MASKED_LM_WEIGHTS, "float32", _PRED),
    Feature(NEXT_SENTENCE_LABELS, "int64", _ONE),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)

# Packed sequences (`format: sequences`): the unmasked inputs only; masks are drawn in the
# trainer's input pipeline.
SEQUENCE_FEATURES: tuple[Feature, ...] = FEATURES[:3]
SEQUENCE_FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in SEQUENCE_FEATURES)

# Optional, outside the schema: explicit token positions for packed sequences, read only
# when a reader asks for them (Model Garden's `use_position_id`); bertpipe never writes it.
POSITION_IDS = "position_ids"
POSITION_IDS_FEATURE = Feature(POSITION_IDS, "int64", _SEQ)

# The flag that sets each length, for error messages that say what to change.
_LENGTH_FLAGS = {_SEQ: "seq_length", _PRED: "max_predictions_per_seq", _ONE: "(fixed)"}


@dataclasses.dataclass(frozen=True)
class MaskedLMSchema:
    """The schema at one (seq_length, max_predictions_per_seq) setting.

    Attributes:
      seq_length: tokens per example, [CLS] and both [SEP] included.
      max_predictions_per_seq: masked positions per example (padded with zeros).
    """

    seq_length: int = 128
    max_predictions_per_seq: int = 20

    def __post_init__(self):
        if not isinstance(self.seq_length, int) or self.seq_length < 5:
            raise BertpipeError(
                f"seq_length must be an integer >= 5 ([CLS] A [SEP] B [SEP] needs at least 5 "
                f"tokens); got {self.seq_length!r}."
            )
        limit = self.seq_length - 3
        if not isinstance(self.max_predictions_per_seq, int) or not (
            1 <= self.max_predictions_per_seq <= limit
        ):
            raise BertpipeError(
                f"max_predictions_per_seq must be an integer in [1, seq_length - 3 = {limit}] "
                f"(only non-special tokens can be masked); got {self.max_predictions_per_seq!r}."
            )

    def length(self, feature: Feature) -> int:
        """The fixed length of `feature` under this schema."""
        return {_SEQ: self.seq_length, _PRED: self.max_predictions_per_seq, _ONE: 1}[feature.length]

    def shapes(self) -> dict[str, tuple[int]]:
        """Feature name -> shape, e.g. {'input_ids': (128,), ...}."""
        return {f.name: (self.length(f),) for f in FEATURES}

    def parse_spec(self) -> dict[str, Any]:
        """The `tf.io.parse_example` spec: every feature as a `FixedLenFeature`."""
        import tensorflow as tf

        dtypes = {"int64": tf.int64, "float32": tf.float32}
        return {f.name: tf.io.FixedLenFeature([self.length(f)], dtypes[f.dtype]) for f in FEATURES}

    def check(self, values: Mapping[str, Sequence[Any]]) -> None:
        """Raises BertpipeError unless `values` has exactly the schema's names and lengths."""
        missing = [n for n in FEATURE_NAMES if n not in values]
        extra = sorted(set(values) - set(FEATURE_NAMES))
        if missing or extra:
            raise BertpipeError(
                f"masked-LM features must be exactly {list(FEATURE_NAMES)}; "
                f"missing {missing}, unexpected {extra}."
            )
        for f in FEATURES:
            want, got = self.length(f), len(values[f.name])
            if got != want:
                raise BertpipeError(
                    f"feature {f.name!r} has length {got}, expected {want} "
                    f"({_LENGTH_FLAGS[f.length]}={want}); write and read with the same "
                    f"{_LENGTH_FLAGS[f.length]}."
                )

    def to_example(self, values: Mapping[str, Sequence[Any]]):
        """Builds a `tf.train.Example` from already padded feature values (checked)."""
        import tensorflow as tf

        self.check(values)
        feature = {}
        for f in FEATURES:
            if f.dtype == "int64":
                feature[f.name] = tf.train.Feature(
                    int64_list=tf.train.Int64List(value=[int(v) for v in values[f.name]])
                )
            else:
                feature[f.name] = tf.train.Feature(
                    float_list=tf.train.FloatList(value=[float(v) for v in values[f.name]])
                )
        return tf.train.Example(features=tf.train.Features(feature=feature))

    def serialize(self, values: Mapping[str, Sequence[Any]]) -> bytes:
        """`to_example(values).SerializeToString()`."""
        return self.to_example(values).SerializeToString()

    def serialize_batch(self, arrays: Mapping[str, np.ndarray]) -> list[bytes]:
        """Serializes a batch: feature name -> [batch, length] array; one record per row.

        Int64 values must be non-negative. The bytes equal
        `to_example(row).SerializeToString(deterministic=True)` (features in name order).
        """
        return _serialize_batch(FEATURES, self.length, arrays)

    def parse(self, serialized):
        """Parses a batch (1-D string tensor) or one serialized example into dense tensors."""
        import tensorflow as tf

        serialized = tf.convert_to_tensor(serialized, dtype=tf.string)
        if serialized.shape.rank == 0:
            return tf.io.parse_single_example(serialized, self.parse_spec())
        return tf.io.parse_example(serialized, self.parse_spec())


@dataclasses.dataclass(frozen=True)
class SequenceSchema:
    """Packed token sequences without masks (`format: sequences`), for dynamic masking.

    The first three features of the masked-LM schema, nothing else: `input_ids` (unmasked),
    `input_mask` and `segment_ids` (all 0: a packed sequence has no sentence pair). The
    trainer draws the masks while it reads them (components/trainer/dynamic_masking.py).

    Attributes:
      seq_length: tokens per sequence, [CLS] and [SEP] included.
    """

    seq_length: int = 128

    def __post_init__(self):
        if isinstance(self.seq_length, bool) or not isinstance(self.seq_length, int):
            raise BertpipeError(f"seq_length must be an integer; got {self.seq_length!r}.")
        if self.seq_length < 3:
            raise BertpipeError(
                f"seq_length must be >= 3 ([CLS] token [SEP]); got {self.seq_length!r}."
            )

    def length(self, feature: Feature) -> int:
        """The fixed length of `feature` (every sequence feature is `seq_length` long)."""
        return self.seq_length

    def parse_spec(self) -> dict[str, Any]:
        """The `tf.io.parse_example` spec of the three sequence features."""
        import tensorflow as tf

        spec = tf.io.FixedLenFeature([self.seq_length], tf.int64)
        return {f.name: spec for f in SEQUENCE_FEATURES}

    def serialize_batch(self, arrays: Mapping[str, np.ndarray]) -> list[bytes]:
        """As `MaskedLMSchema.serialize_batch`, for the sequence features."""
        return _serialize_batch(SEQUENCE_FEATURES, self.length, arrays)

    def parse(self, serialized):
        """Parses a batch (1-D string tensor) of serialized sequences into dense tensors."""
        import tensorflow as tf

        return tf.io.parse_example(tf.convert_to_tensor(serialized, tf.string), self.parse_spec())


def _serialize_batch(schema_features, length, arrays) -> list[bytes]:
    """`serialize_batch` for any feature tuple; `length(feature)` gives its fixed length."""
    import numpy as np

    names = {f.name for f in schema_features}
    missing = sorted(names - set(arrays))
    if missing:
        raise BertpipeError(f"serialize_batch needs every feature; missing {missing}.")
    batch = len(arrays[INPUT_IDS])
    columns = []
    for f in sorted(schema_features, key=lambda f: f.name):
        values = np.asarray(arrays[f.name])
        if values.shape != (batch, length(f)):
            raise BertpipeError(
                f"feature {f.name!r} has shape {values.shape}, expected "
                f"{(batch, length(f))} ({_LENGTH_FLAGS[f.length]}={length(f)})."
            )
        columns.append(_feature_column(f, values))
    records, prefixes = [], {}
    for parts in zip(*columns):
        body = b"".join(parts)
        prefix = prefixes.get(len(body))
        if prefix is None:
            prefix = prefixes[len(body)] = b"\x0a" + _varint(len(body))  # Example.features
        records.append(prefix + body)
    return records


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _varints(values: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Varint-encodes a [rows, n] array of non-negative ints: (all bytes, bytes per row)."""
    import numpy as np

    v = values.astype(np.int64, copy=False)
    if v.size == 0:
        return b"", np.zeros(len(v), np.int64)
    if v.min() < 0:
        raise BertpipeError("serialize_batch writes non-negative int64 values only.")
    width = max(1, (int(v.max()).bit_length() + 6) // 7)
    if width == 1:  # Every value < 128: one byte each (masks, segment ids, positions).
        return v.astype(np.uint8).tobytes(), np.full(len(v), v.shape[1], np.int64)
    v = v.astype(np.int32) if width <= 4 else v  # Narrow integers make every step faster.
    nbytes = np.ones(v.shape, np.int8)
    for k in range(1, width):
        nbytes += v >= (1 << (7 * k))
    groups = np.empty((*v.shape, width), np.uint8)
    for k in range(width):
        more = (nbytes > k + 1).view(np.uint8) << np.uint8(7)
        groups[..., k] = ((v >> (7 * k)) & 0x7F).astype(np.uint8) | more
    keep = np.flatnonzero(np.arange(width, dtype=np.int8) < nbytes[..., None])
    return groups.reshape(-1)[keep].tobytes(), nbytes.sum(axis=1, dtype=np.int64)


def _feature_column(feature: Feature, values) -> list[bytes]:
    """One map entry of `Features.feature` per row: key, Feature, packed values."""
    import numpy as np

    if feature.dtype == "int64":
        payload, lengths = _varints(values)
        kind = b"\x1a"  # Feature.int64_list
    else:
        payload = values.astype("<f4").tobytes()
        lengths = np.full(len(values), 4 * values.shape[1], np.int64)
        kind = b"\x12"  # Feature.float_list
    lengths = lengths.tolist()
    offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]).tolist()
    key = feature.name.encode()
    headers = {n: _entry_header(key, kind, n) for n in set(lengths)}
    return [headers[n] + payload[a:b] for n, a, b in zip(lengths, offsets, offsets[1:])]


def _entry_header(key: bytes, kind: bytes, payload_len: int) -> bytes:
    """The bytes of a map entry up to its packed values, for `payload_len` bytes of values."""
    packed = b"\x0a" + _varint(payload_len)  # Int64List/FloatList.value, packed.
    value = kind + _varint(len(packed) + payload_len) + packed
    entry = b"\x0a" + _varint(len(key)) + key + b"\x12" + _varint(len(value) + payload_len)
    return b"\x0a" + _varint(len(entry) + len(value) + payload_len) + entry + value
