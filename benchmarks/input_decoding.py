"""Benchmark: the cost of BertPretrainDataLoader's record-length check.

BertPretrainDataLoader parses each feature as ragged and checks its row lengths, so that a
record of the wrong length fails with a message naming the feature and the setting to
change. The baseline is the plain fixed-length `tf.io.parse_example` over the same schema
(whose error on a wrong length names neither). Measures, on this machine, side by side:

- decoding alone: one batch of serialized records, each decoder in a `tf.function`;
- the whole training input pipeline (`InputReader`: gzip TFRecords, interleave, repeat,
  shuffle, batch, decode, prefetch) with each decoder, in examples/s.

Run: `python benchmarks/input_decoding.py [--records 20000] [--batch-size 256]`
(from the repository root with the project's Python; about a minute here).
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()

    import tensorflow as tf

    from components.trainer.configs import DataConfig
    from components.trainer.input_reader import InputReader
    from components.trainer.pretrain_dataloader import BertPretrainDataLoader

    with tempfile.TemporaryDirectory() as directory:
        config = DataConfig(global_batch_size=args.batch_size, seed=1, shuffle_buffer_size=1000)
        pattern = write_records(directory, config.schema, args.records)
        config = DataConfig(**{**config.__dict__, "input_path": pattern})
        loader = BertPretrainDataLoader(config)
        spec = config.schema.parse_spec()

        def fixed_length(serialized):
            parsed = tf.io.parse_example(serialized, spec)
            return {
                k: tf.cast(v, tf.int32) if v.dtype == tf.int64 else v for k, v in parsed.items()
            }

        decoders = {
            "fixed-length parse (baseline)": fixed_length,
            "checked (loader)": loader.decode,
        }
        batch = next(iter(tf.data.TFRecordDataset(tf.io.gfile.glob(pattern), "GZIP").batch(256)))
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
            print(f"decode one batch of 256, {name}: {decode_ms[name]:.2f} ms")
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
