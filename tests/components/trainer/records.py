"""Test helper: masked-LM records written through `components/features.py`.

Writes what the example generator writes (the same schema, gzip TFRecords under
`<artifact>/Split-<name>/`), so reader tests need no generator run.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from components import features


def random_values(
    schema: features.MaskedLMSchema, rng: np.random.Generator, vocab_size: int = 100
) -> dict[str, list]:
    """One padded record with plausible values: [CLS]=2 ... [SEP]=3, masked positions."""
    seq, pred = schema.seq_length, schema.max_predictions_per_seq
    length = int(rng.integers(pred + 3, seq + 1))
    ids = rng.integers(5, vocab_size, length).tolist()
    ids[0], ids[-1] = 2, 3
    first = int(rng.integers(1, length - 1))
    num_masked = int(rng.integers(1, pred + 1))
    positions = sorted(rng.choice(np.arange(1, length - 1), num_masked, replace=False).tolist())
    pad_seq, pad_pred = seq - length, pred - num_masked
    return {
        features.INPUT_IDS: ids + [0] * pad_seq,
        features.INPUT_MASK: [1] * length + [0] * pad_seq,
        features.SEGMENT_IDS: [0] * first + [1] * (length - first) + [0] * pad_seq,
        features.MASKED_LM_POSITIONS: positions + [0] * pad_pred,
        features.MASKED_LM_IDS: [ids[p] for p in positions] + [0] * pad_pred,
        features.MASKED_LM_WEIGHTS: [1.0] * num_masked + [0.0] * pad_pred,
        features.NEXT_SENTENCE_LABELS: [int(rng.integers(0, 2))],
    }


def make_records(schema: features.MaskedLMSchema, count: int, seed: int = 0, **kwargs):
    """`count` records; record i has input_ids[1] == 5 + i (an id to find it by)."""
    rng = np.random.default_rng(seed)
    records = []
    for i in range(count):
        values = random_values(schema, rng, **kwargs)
        values[features.INPUT_IDS][1] = 5 + i
        records.append(values)
    return records


def write_records(path: str, serialized: list[bytes], gzip: bool = False) -> str:
    """Writes already serialized records to one TFRecord file; returns its path."""
    with tf.io.TFRecordWriter(path, options="GZIP" if gzip else None) as writer:
        for record in serialized:
            writer.write(record)
    return path


def write_split(
    root: str,
    split: str,
    schema: features.MaskedLMSchema,
    records: list[dict],
    num_shards: int = 2,
    gzip: bool = True,
) -> str:
    """Writes records round-robin into `<root>/Split-<split>/` shards; returns its glob."""
    directory = os.path.join(root, f"Split-{split}")
    os.makedirs(directory, exist_ok=True)
    suffix = ".gz" if gzip else ""
    for shard in range(num_shards):
        name = f"data_tfrecord-{shard:05d}-of-{num_shards:05d}{suffix}"
        serialized = [schema.serialize(r) for r in records[shard::num_shards]]
        write_records(os.path.join(directory, name), serialized, gzip=gzip)
    return os.path.join(directory, "*")


def example_with(values: dict[str, list], **extra: list) -> bytes:
    """Serializes `values` (any names/lengths, unchecked) plus extra int64 features."""
    feature = {}
    for name, vals in {**values, **extra}.items():
        if name == features.MASKED_LM_WEIGHTS:
            feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=vals))
        else:
            feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=vals))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()
