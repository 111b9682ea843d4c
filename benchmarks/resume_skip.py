"""Benchmark: what continuing the data order costs a resumed training run.

A run resumed at step k with a seeded training split (`task.train_data.seed`) skips the
records of the k batches before (`InputReader.read`: read, shuffled and dropped, never
decoded), so its batch k is the uninterrupted run's batch k. This script measures, side
by side on one input pipeline of gzip TFRecords (seq_length 128, 20 predictions, the
BERT recipes' record shape):

- baseline: the training input pipeline's rate (`BertPretrainDataLoader`: read, shuffle,
  batch, decode), examples/s, as an uninterrupted run consumes it;
- skip: records skipped per second at the start of a resumed run, from the time to its
  first batch at `initial_step` k minus that at step 0.

It prints both, their ratio, and the start-up delay per 10 M skipped records (one
input pipeline; every host of a multi-host run skips its own share in parallel).

Run: `python benchmarks/resume_skip.py [--records 20000] [--batch-size 256] [--steps 400]`
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

from benchmarks.input_decoding import training_config
from benchmarks.recipes import rate


def first_batch_seconds(config, initial_step: int, rounds: int) -> float:
    """Median seconds from building a resumed loader at `initial_step` to its first batch."""
    from components.trainer.pretrain_dataloader import BertPretrainDataLoader

    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        resumed = dataclasses.replace(config, initial_step=initial_step)
        next(iter(BertPretrainDataLoader(resumed).load()))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=400, help="initial_step of the resume")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from components.trainer.pretrain_dataloader import BertPretrainDataLoader

    with tempfile.TemporaryDirectory() as directory:
        config = training_config(directory, args.batch_size, args.records)
        batches = max(20, args.records // args.batch_size)
        loader = rate(BertPretrainDataLoader(config).load(), args.batch_size, batches, 3)
        fresh = first_batch_seconds(config, 0, args.rounds)
        resumed = first_batch_seconds(config, args.steps, args.rounds)
        skipped = args.steps * args.batch_size
        skip_rate = skipped / max(resumed - fresh, 1e-9)
        print(
            f"{args.records} records in 4 gzip files, seq_length {config.seq_length}, batch "
            f"{args.batch_size}, shuffle buffer 1000, {os.cpu_count()} CPUs"
        )
        print(f"baseline, training input pipeline: {loader:,.0f} examples/s")
        print(
            f"skip at resume (step {args.steps}, {skipped:,} records): first batch after "
            f"{resumed:.2f} s vs {fresh:.2f} s at step 0: {skip_rate:,.0f} records/s"
        )
        print(f"  ratio skip / baseline: {skip_rate / loader:.2f}")
        print(f"  start-up delay per 10 M skipped records: {1e7 / skip_rate / 60:.1f} min")


if __name__ == "__main__":
    main()
