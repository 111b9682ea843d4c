"""Benchmark: what checking every record's lengths inside the input pipeline would cost.

BertPretrainDataLoader decodes with the plain fixed-length `tf.io.parse_example` and
checks record lengths once, up front, on the host (plus `reraise_record_errors` for a
bad record later on). The alternative it rejected parses every feature as ragged and
checks every record's row lengths in the graph. This script measures both, side by side,
on this machine (the loader's decoder is the baseline):

- decoding alone: one batch of serialized records, each decoder in a `tf.function`;
- the whole training input pipeline (`InputReader`: gzip TFRecords, interleave, repeat,
  shuffle, batch, decode, prefetch) with each decoder, in examples/s.

Run: `python benchmarks/input_decoding.py [--records 20000] [--batch-size 256]`
(from the repository root with the project's Python; about a minute here).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def write_records(directory: str, schema, count: int, shards: int = 4) -> str:
    """Random but well-formed masked-LM records in `shards` gzip files; returns the glob."""
    import numpy as np
    import tensorflow as tf

    from components import features

    rng = np.random.default_rng(0)
    seq, pred = schema.seq_length, schema.max_predictions_per_seq
    writers = [
        tf.io.TFRecordWriter(os.path.join(directory, f"part-{i}.gz"), options="GZIP")
        for i in range(shards)
    ]
    for i in range(count):
        values = {
            features.INPUT_IDS: rng.integers(5, 30522, seq).tolist(),
            features.INPUT_MASK: [1] * seq,
            features.SEGMENT_IDS: [0] * (seq // 2) + [1] * (seq - seq // 2),
            features.MASKED_LM_POSITIONS: sorted(rng.choice(seq, pred, replace=False).tolist()),
            features.MASKED_LM_IDS: rng.integers(5, 30522, pred).tolist(),
            features.MASKED_LM_WEIGHTS: [1.0] * pred,
            features.NEXT_SENTENCE_LABELS: [i % 2],
        }
        writers[i % shards].write(schema.serialize(values))
    for writer in writers:
        writer.close()
    return os.path.join(directory, "*.gz")


def training_config(directory: str, batch_size: int, records: int):
    """A seeded training DataConfig over `records` random records written to `directory`."""
    from components.trainer.configs import DataConfig

    config = DataConfig(global_batch_size=batch_size, seed=1, shuffle_buffer_size=1000)
    pattern = write_records(directory, config.schema, records)
    return dataclasses.replace(config, input_path=pattern)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()

    import tensorflow as tf

    from components.trainer.input_reader import InputReader
    from components.trainer.pretrain_dataloader import BertPretrainDataLoader

    with tempfile.TemporaryDirectory() as directory:
        config = training_config(directory, args.batch_size, args.records)
        pattern = config.input_path[0]
        loader = BertPretrainDataLoader(config)
        spec = config.schema.parse_spec()

        def checked_in_graph(serialized):
            ragged = {
                name: tf.io.RaggedFeature(f.dtype, row_splits_dtype=tf.int32)
                for name, f in spec.items()
            }
            parsed = tf.io.parse_example(serialized, ragged)
            ok = tf.reduce_all(
                [
                    tf.reduce_all(tf.equal(parsed[n].row_lengths(), f.shape[0]))
                    for n, f in spec.items()
                ]
            )
            with tf.control_dependencies([tf.debugging.Assert(ok, ["wrong record length"])]):
                values = {
                    n: tf.reshape(parsed[n].flat_values, [-1, f.shape[0]]) for n, f in spec.items()
                }
            return {
                k: tf.cast(v, tf.int32) if v.dtype == tf.int64 else v for k, v in values.items()
            }

        decoders = {"loader (baseline)": loader.decode, "checked in graph": checked_in_graph}
        batch = next(
            iter(tf.data.TFRecordDataset(tf.io.gfile.glob(pattern), "GZIP").batch(args.batch_size))
        )
        print(
            f"seq_length {config.seq_length}, max_predictions_per_seq "
            f"{config.max_predictions_per_seq}, batch {args.batch_size}, {os.cpu_count()} CPUs"
        )
        decode_ms = {}
        for name, decoder in decoders.items():
            function = tf.function(decoder)
            function(batch)
            times = []
            for _ in range(5):
                start = time.perf_counter()
                for _ in range(50):
                    function(batch)
                times.append((time.perf_counter() - start) / 50 * 1000)
            decode_ms[name] = statistics.median(times)
            print(f"decode one batch, {name}: {decode_ms[name]:.2f} ms")
        base, checked = decode_ms.values()
        print(f"  ratio checked / baseline: {checked / base:.2f}")

        iterators = {
            name: iter(InputReader(config, decoder, loader.parse).read())
            for name, decoder in decoders.items()
        }
        rates = {name: [] for name in iterators}
        for iterator in iterators.values():
            for _ in range(50):  # fill the shuffle buffer and warm up
                next(iterator)
        for _ in range(5):  # alternate, so load from other processes hits both alike
            for name, iterator in iterators.items():
                start = time.perf_counter()
                for _ in range(100):
                    next(iterator)
                rates[name].append(100 * args.batch_size / (time.perf_counter() - start))
        medians = {name: statistics.median(r) for name, r in rates.items()}
        for name, rate in medians.items():
            print(f"training input pipeline, {name}: {rate:,.0f} examples/s")
        base, checked = medians.values()
        print(f"  ratio checked / baseline: {checked / base:.2f}")


if __name__ == "__main__":
    main()
