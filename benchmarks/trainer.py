"""Benchmark: training throughput on CPU, model FLOPs utilisation, and Model Garden.

For `bert/tiny` and `bert/mini` at batch 32 (seq_length 128, 20 predictions, the
30,522-token BERT vocabulary), in one process, measured side by side in alternating
rounds so that load from other processes hits every candidate alike:

- bertpipe's training loop (`Trainer.run_steps`: the device loop `train` runs), without
  and with XLA (`trainer.jit_compile`), in examples/s;
- model FLOPs utilisation: the counted training FLOPs per example (encoder, masked-LM head
  over the vocabulary, next-sentence head; backward = 2x forward) times examples/s, as a
  fraction of the fp32 matmul peak measured in the same round (a 2048 x 2048 matmul);
- the input pipeline alone (`task.build_inputs`), in examples/s and as a multiple of what
  training consumes;
- TF Model Garden's own masked-LM task (`official.nlp.tasks.masked_lm` through
  `official.core.base_trainer.Trainer`, its orbit loop and its `bert/pretraining`
  optimizer) with the same model size, batch and data; the ratio is the median of the
  per-round ratios. Model Garden is installed with pip into a side directory (default
  `.cache/model-garden`, gitignored) on first use; without it that column is skipped.

Run: `python benchmarks/trainer.py [--sizes tiny mini] [--rounds 7] [--steps 8]`
(from the repository root with the project's Python; about 10 minutes here).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(_HERE))
sys.path.insert(0, _HERE)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

VOCAB_SIZE = 30522
SEQ_LENGTH, PREDICTIONS = 128, 20


def training_flops_per_example(model, seq_length: int, predictions: int) -> float:
    """Counted matmul FLOPs of one training example (forward x 3: backward is 2x).

    Per token and layer: QKV 6h^2, attention output 2h^2, feed-forward 4h*i, attention
    scores and weighted sum 4*s*h. Per example: pooler 2h^2 and next-sentence 4h; per
    masked position: the head's transform 2h^2 and the vocabulary projection 2*h*V.
    Embedding lookups, layer norms, softmaxes and the optimizer are not counted.
    """
    h, i, s = model.hidden_size, model.intermediate_size, seq_length
    per_token_layer = 8 * h * h + 4 * h * i + 4 * s * h
    encoder = model.num_layers * s * per_token_layer
    heads = 2 * h * h + 4 * h + predictions * (2 * h * h + 2 * h * model.vocab_size)
    return 3.0 * (encoder + heads)


def matmul_peak():
    """A run(seconds) closure: fp32 FLOP/s of a 2048 x 2048 matmul (this host's best
    size: 4096 gave the same, 1024 less)."""
    import tensorflow as tf

    n = 2048
    a, b = tf.random.normal([n, n]), tf.random.normal([n, n])
    matmul = tf.function(lambda x, y: tf.matmul(x, y))
    matmul(a, b)

    def run(seconds: float = 1.0) -> float:
        start, calls = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            matmul(a, b)
            calls += 1
        return 2 * n**3 * calls / (time.perf_counter() - start)

    return run


def model_garden(directory: str) -> str | None:
    """Makes Model Garden importable from `directory` (installing it there); None if not."""
    import model_garden as garden

    if garden.install(directory) is None:
        return None
    sys.path.insert(0, directory)
    try:
        import official.nlp.configs.pretraining_experiments
        import official.nlp.tasks.masked_lm  # noqa: F401
    except ImportError as e:
        print(f"Model Garden baseline skipped: cannot import it from {directory}: {e}")
        return None
    return directory


def ours(size: str, pattern: str, batch: int, jit: bool, workdir: str):
    """bertpipe's Trainer for bert/<size>; returns (run(steps), experiment)."""
    import tensorflow as tf

    from components.trainer import examples_metadata, experiments, train_lib

    params = [
        f"task.train_data.global_batch_size={batch}",
        "task.train_data.shuffle_buffer_size=1000",
        f"trainer.jit_compile={str(jit).lower()}",
    ]
    loaded = experiments.load_experiment(f"bert/{size}", params=params)
    experiment = examples_metadata.with_input_paths(loaded.config, [pattern], [])
    trainer = train_lib.Trainer(
        experiment, tf.distribute.get_strategy(), os.path.join(workdir, f"{size}-{jit}")
    )
    iterator = trainer.train_iterator()
    trainer.run_steps(iterator, 2)  # trace
    return (lambda steps: trainer.run_steps(iterator, steps)), experiment


def theirs(model, pattern: str, batch: int):
    """Model Garden's masked-LM task and trainer with `model`'s sizes; returns run(steps)."""
    import tensorflow as tf
    from official.core import base_trainer, exp_factory, task_factory, train_utils

    params = exp_factory.get_exp_config("bert/pretraining")
    bert = {
        "vocab_size": model.vocab_size,
        "hidden_size": model.hidden_size,
        "num_layers": model.num_layers,
        "num_attention_heads": model.num_attention_heads,
        "intermediate_size": model.intermediate_size,
    }
    head = {"inner_dim": model.hidden_size, "num_classes": 2, "name": "next_sentence"}
    data = {
        "input_path": pattern,
        "file_type": "tfrecord_compressed",
        "global_batch_size": batch,
        "seq_length": SEQ_LENGTH,
        "max_predictions_per_seq": PREDICTIONS,
        "shuffle_buffer_size": 1000,
    }
    params.override(
        {
            "task": {
                "model": {"encoder": {"type": "bert", "bert": bert}, "cls_heads": [head]},
                "train_data": data,
            },
            "trainer": {
                "optimizer_config": {
                    "learning_rate": {"polynomial": {"decay_steps": 100_000}},
                    "warmup": {"polynomial": {"warmup_steps": 1000}},
                }
            },
        },
        is_strict=False,
    )
    task = task_factory.get_task(params.task)
    # Its encoder's pooler is unused by its next-sentence head: one warning per trace.
    tf.get_logger().setLevel("ERROR")
    trainer = base_trainer.Trainer(
        params,
        task,
        model=task.build_model(),
        optimizer=train_utils.create_optimizer(task, params),
        train=True,
        evaluate=False,
    )
    trainer.train(tf.constant(2))  # trace
    return lambda steps: trainer.train(tf.constant(steps))


def input_pipeline(experiment):
    """Examples/s of the training input pipeline alone, as a run(steps) closure."""
    from components.trainer import registry

    task = registry.get_task(experiment.task)
    iterator = iter(task.build_inputs(experiment.task.train_data))
    for _ in range(20):  # fill the shuffle buffer
        next(iterator)

    def run(steps):
        for _ in range(steps):
            next(iterator)

    return run


def measure(runners: dict, peak, batch: int, rounds: int) -> dict[str, list[float]]:
    """examples/s of every runner (run, batches) per round, alternating within a round,
    and the matmul peak (FLOP/s) in each round."""
    rates = {name: [] for name in [*runners, "peak"]}
    for _ in range(rounds):
        rates["peak"].append(peak())
        for name, (run, count) in runners.items():
            start = time.perf_counter()
            run(count)
            rates[name].append(count * batch / (time.perf_counter() - start))
    return rates


def report(size: str, rates: dict[str, list[float]], flops: float, batch: int) -> None:
    """Prints medians over rounds; MFU and ratios are per round, then the median."""
    peaks = rates.pop("peak")

    def ratio(a, b):
        return statistics.median(x / y for x, y in zip(rates[a], rates[b]))

    print(
        f"\nbert/{size}, batch {batch}: {flops / 1e9:.2f} GFLOP per training example; "
        f"fp32 matmul peak {statistics.median(peaks) / 1e9:,.0f} GFLOP/s"
    )
    for name, values in rates.items():
        line = f"  {name:<28} {statistics.median(values):10,.1f} examples/s"
        if name != "input pipeline":
            mfu = statistics.median(r * flops / p for r, p in zip(values, peaks))
            line += f"   MFU {mfu:6.1%}"
        print(line)
    base = "bertpipe"
    if "Model Garden" in rates:
        print(f"  bertpipe / Model Garden:      {ratio(base, 'Model Garden'):.2f}x")
        print(f"  bertpipe XLA / Model Garden:  {ratio(base + ' XLA', 'Model Garden'):.2f}x")
    print(f"  bertpipe XLA / bertpipe:      {ratio(base + ' XLA', base):.2f}x")
    print(f"  input pipeline / training:    {ratio('input pipeline', base):.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["tiny", "mini"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=8, help="training steps per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--records", type=int, default=4096)
    parser.add_argument("--model-garden", default=".cache/model-garden", metavar="DIR")
    parser.add_argument("--no-model-garden", action="store_true")
    args = parser.parse_args()

    garden = None if args.no_model_garden else model_garden(os.path.abspath(args.model_garden))
    from input_decoding import write_records

    from components.features import MaskedLMSchema

    with tempfile.TemporaryDirectory() as workdir:
        pattern = write_records(workdir, MaskedLMSchema(SEQ_LENGTH, PREDICTIONS), args.records)
        print(f"{os.cpu_count()} CPUs; {args.rounds} rounds of {args.steps} steps per candidate")
        peak, results = matmul_peak(), []
        for size in args.sizes:
            run, experiment = ours(size, pattern, args.batch_size, False, workdir)
            runners = {
                "bertpipe": (run, args.steps),
                "bertpipe XLA": (
                    ours(size, pattern, args.batch_size, True, workdir)[0],
                    args.steps,
                ),
            }
            if garden:
                runners["Model Garden"] = (
                    theirs(experiment.task.model, pattern, args.batch_size),
                    args.steps,
                )
            runners["input pipeline"] = (input_pipeline(experiment), 100)
            rates = measure(runners, peak, args.batch_size, args.rounds)
            flops = training_flops_per_example(experiment.task.model, SEQ_LENGTH, PREDICTIONS)
            results.append((size, rates, flops))
        for size, rates, flops in results:
            report(size, rates, flops, args.batch_size)


if __name__ == "__main__":
    main()
