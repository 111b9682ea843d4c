"""Benchmark the modern recipe (packed sequences + dynamic masking) against BERT's static one.

On sample corpora fetched by `pipelines.corpora` (default moby-dick + shakespeare), with the
bert-base-uncased vocabulary at seq_length 128, in one process pinned to one core
(`sched_setaffinity`, TensorFlow limited to one thread per pool) for 1-3:

1. generation, per core: MB/s of corpus text through `ExampleGenerator` (the code each
   Beam worker runs per bucket) for `format: sequences`, for `static` at `--dupe-factor`,
   and the floor (read + tokenize only, as `benchmarks/example_gen.py` measures it);
2. storage: bytes of the sequences records vs the static records (raw and gzip level 1,
   as the writer compresses);
3. the input pipeline: examples/s of the dynamic-masking loader (sequences) and of the
   static loader (static records), batch 32, training mode;
4. (all cores) what `mlm/mini` training consumes: examples/s of its train steps on the
   same sequences, and the ratio of (3) to it;
5. (`--quality-steps` > 0) quality at equal step budgets: `bert/tiny` on the static
   records and `mlm/tiny` on the sequences, the same steps and batch, then both evaluated
   on the same held-out static eval records (fixed masks): masked-LM accuracy and loss.

Run: `python benchmarks/recipes.py` (`--quality-steps 0` skips 5);
`--reuse WORK` skips 1-2 and measures 3-5 in one run on the records an earlier run left
in WORK. Model Garden's text loader beside ours: `benchmarks/recipes_model_garden.py`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import zlib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)


def _pin_one_core() -> None:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    import tensorflow as tf

    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)


def _documents(files):
    from components.corpus import documents

    buckets = documents.plan_buckets([(f, os.path.getsize(f)) for f in files], 4 << 20)
    out = []
    for bucket in buckets:
        docs = []
        for segment in bucket.segments:
            with open(segment.path, "rb") as f:
                docs.extend(documents.read_documents(f, segment))
        out.append(docs)
    return out


def generate(buckets, config, tokens, repeat: int):
    """(fastest seconds, {split: records}) of generating every bucket with `config`."""
    from components.example_gen.generator import ExampleGenerator
    from components.example_gen.stats import ExampleGenStats

    best, records = None, None
    for _ in range(repeat):
        generator = ExampleGenerator(config, tokens)
        out = {"train": [], "eval": []}
        start = time.perf_counter()
        for index, docs in enumerate(buckets):
            stats = ExampleGenStats.empty(config.seq_length, config.max_predictions_per_seq)
            for split, batch in generator.generate(index, docs, stats):
                out[split].extend(batch)
        seconds = time.perf_counter() - start
        if best is None or seconds < best:
            best, records = seconds, out
    return best, records


def floor(buckets, tokens, repeat: int) -> float:
    """Fastest seconds to tokenize every sentence (the generator's tokenizer and batching)."""
    from components.example_gen.generator import wordpiece_tokenize_fn

    tokenize = wordpiece_tokenize_fn(tokens, lower_case=True)
    best = None
    for _ in range(repeat):
        start = time.perf_counter()
        for docs in buckets:
            texts = [s for d in docs for s in d.sentences]
            for i in range(0, len(texts), 4096):
                tokenize(texts[i : i + 4096])
        seconds = time.perf_counter() - start
        best = seconds if best is None else min(best, seconds)
    return best


def storage(records: list[bytes]) -> tuple[int, int]:
    """(raw TFRecord bytes, gzip level-1 bytes) of the records as the writer frames them."""
    from components.example_gen import tfrecord

    framed = tfrecord.frame(records)
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    return len(framed), len(packer.compress(framed) + packer.flush())


def write(path: str, records: list[bytes]) -> str:
    import tensorflow as tf

    with tf.io.TFRecordWriter(path) as writer:
        for r in records:
            writer.write(r)
    return path


def data_config(path, vocab, sequences: bool, batch: int, training: bool = True, **kw):
    from components.trainer.configs import DataConfig, MaskingConfig

    extra = {}
    if sequences:
        extra = {
            "record_format": "sequences",
            "use_next_sentence_label": False,
            "masking": MaskingConfig(vocab_path=vocab),
        }
    return DataConfig(
        input_path=path, global_batch_size=batch, is_training=training, seed=1,
        shuffle_buffer_size=1000, drop_remainder=training, **extra, **kw,
    )  # fmt: skip


def rate(dataset, batch: int, batches: int, rounds: int) -> float:
    """Median examples/s of reading `batches` batches of `dataset`, over `rounds` rounds."""
    iterator = iter(dataset.repeat())
    for _ in range(20):
        next(iterator)
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(batches):
            next(iterator)
        rates.append(batches * batch / (time.perf_counter() - start))
    return statistics.median(rates)


def loader_rate(config, batches: int, rounds: int) -> float:
    """Median examples/s of bertpipe's loader for `config` (see `rate`)."""
    from components.trainer.pretrain_dataloader import BertPretrainDataLoader

    return rate(BertPretrainDataLoader(config).load(), config.global_batch_size, batches, rounds)


def one_core(args, work: str) -> dict:
    """Parts 1-3 (one core); writes the records to `work` for parts 4-5."""
    _pin_one_core()
    from components.example_gen import ExampleGenConfig
    from components.vocabulary import load_vocab, resolve_vocab_path
    from pipelines import corpora

    files = [corpora.fetch(name) for name in args.corpora.split(",")]
    mb = sum(os.path.getsize(f) for f in files) / 1e6
    tokens = load_vocab("bert-base-uncased")
    buckets = _documents(files)
    common = {"seq_length": 128, "max_predictions_per_seq": 20}
    r = {"corpus_mb": mb, "floor_s": floor(buckets, tokens, args.repeat)}
    seq_s, seq = generate(
        buckets, ExampleGenConfig(format="sequences", **common), tokens, args.repeat
    )
    static_cfg = ExampleGenConfig(dupe_factor=args.dupe_factor, **common)
    static_s, static = generate(buckets, static_cfg, tokens, 1)
    r.update(sequences_s=seq_s, static_s=static_s)
    r["sequences_bytes"] = storage(seq["train"] + seq["eval"])
    r["static_bytes"] = storage(static["train"] + static["eval"])
    r["sequences"], r["static"] = len(seq["train"]), len(static["train"])
    paths = {}
    for name, recs in (("seq", seq), ("static", static)):
        for split in ("train", "eval"):
            paths[f"{name}_{split}"] = write(f"{work}/{name}-{split}.tfrecord", recs[split])
    vocab = resolve_vocab_path("bert-base-uncased")
    r["paths"], r["vocab"] = paths, vocab
    r.update(loader_rates(args, paths, vocab))
    return r


def loader_rates(args, paths: dict, vocab: str) -> dict:
    """Part 3: examples/s of the dynamic-masking and the static loader (call on one core)."""
    batches = args.loader_batches
    dynamic = data_config(paths["seq_train"], vocab, True, 32)
    static = data_config(paths["static_train"], vocab, False, 32)
    return {
        "dynamic_eps": loader_rate(dynamic, batches, args.rounds),
        "static_eps": loader_rate(static, batches, args.rounds),
    }


def one_core_loaders(args, work: str) -> dict:
    """Part 3 alone, pinned to one core, on the records an earlier run left in `work`."""
    _pin_one_core()
    r = _reused(work)
    return loader_rates(args, r["paths"], r["vocab"])


def train_rate(experiment_name: str, path: str, vocab: str, work: str, rounds: int) -> float:
    """Median examples/s of `experiment_name`'s train steps (batch 32) on `path`."""
    import tensorflow as tf

    from components.trainer import experiments, train_lib

    loaded = experiments.load_experiment(experiment_name)
    task = loaded.config.task
    data = data_config(path, vocab, True, 32)
    experiment = _with_task(loaded.config, task, data, None)
    trainer = train_lib.Trainer(experiment, tf.distribute.get_strategy(), f"{work}/rate")
    iterator = trainer.train_iterator()
    trainer.run_steps(iterator, 2)  # trace
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        trainer.run_steps(iterator, 8)
        rates.append(8 * 32 / (time.perf_counter() - start))
    return statistics.median(rates)


def _with_task(experiment, task, train, validation):
    import dataclasses

    changes = {"train_data": train}
    if validation is not None:
        changes["validation_data"] = validation
    return dataclasses.replace(experiment, task=dataclasses.replace(task, **changes))


def quality(name: str, train, eval_path: str, steps: int, work: str) -> dict:
    """Trains `name` for `steps` on `train`; masked-LM metrics on the static eval records."""
    import dataclasses

    import tensorflow as tf

    from components.trainer import experiments, train_lib

    loaded = experiments.load_experiment(name)
    config = loaded.config
    nsp = name.startswith("bert/")
    validation = data_config(eval_path, "", False, 32, training=False,
                             use_next_sentence_label=nsp)  # fmt: skip
    trainer_config = dataclasses.replace(
        config.trainer, train_steps=steps, validation_interval=0, checkpoint_interval=steps,
        validation_steps=20,
        steps_per_loop=min(50, steps), summary_interval=min(50, steps),
    )  # fmt: skip
    experiment = dataclasses.replace(
        _with_task(config, config.task, train, validation), trainer=trainer_config
    )
    trainer = train_lib.Trainer(experiment, tf.distribute.get_strategy(), f"{work}/{name}")
    result = trainer.train()
    return {k: v for k, v in result.validation_logs.items() if k.startswith("masked_lm")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", default="moby-dick,shakespeare")
    parser.add_argument("--dupe-factor", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=2, help="generation runs; fastest counts")
    parser.add_argument("--loader-batches", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quality-steps", type=int, default=300)
    parser.add_argument("--one-core", metavar="WORK", help=argparse.SUPPRESS)  # Internal.
    parser.add_argument("--one-core-loaders", metavar="WORK", help=argparse.SUPPRESS)
    parser.add_argument(
        "--reuse", metavar="WORK", help="skip 1-2; measure 3-5 on the records of an earlier run"
    )
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.one_core:
        print("RESULT " + json.dumps(one_core(args, args.one_core)))
        return 0
    if args.one_core_loaders:
        print("RESULT " + json.dumps(one_core_loaders(args, args.one_core_loaders)))
        return 0
    sys.stdout.reconfigure(line_buffering=True)  # Each figure shows as soon as it is measured.
    load = os.getloadavg()
    if args.reuse:
        return reused_parts(args, args.reuse, load)
    work = tempfile.mkdtemp(prefix="bertpipe-recipes-")
    r = _one_core_child(["--one-core", work], args)
    with open(os.path.join(work, "result.json"), "w") as f:
        json.dump(r, f)
    mb = r["corpus_mb"]
    print(f"corpus {args.corpora}: {mb:.1f} MB; seq_length 128; load average {load[0]:.1f}")
    print("1. generation on one core (MB of text per second):")
    floor_rate = mb / r["floor_s"]
    for label, key in (("floor (read + tokenize)", "floor_s"), ("sequences", "sequences_s"),
                       (f"static, dupe_factor {args.dupe_factor}", "static_s")):  # fmt: skip
        rate = mb / r[key]
        print(f"   {label:<28} {rate:7.2f} MB/s  {rate / floor_rate:5.2f}x the floor")
    (seq_raw, seq_gz), (st_raw, st_gz) = r["sequences_bytes"], r["static_bytes"]
    print("2. storage (train + eval records):")
    print(f"   sequences {seq_raw / 1e6:8.1f} MB raw {seq_gz / 1e6:8.1f} MB gzip "
          f"({r['sequences']} train sequences)")  # fmt: skip
    print(f"   static    {st_raw / 1e6:8.1f} MB raw {st_gz / 1e6:8.1f} MB gzip "
          f"({r['static']} train examples); static / sequences = {st_raw / seq_raw:.1f}x raw, "
          f"{st_gz / seq_gz:.1f}x gzip")  # fmt: skip
    _print_loaders(r)
    return train_parts(args, work, r, os.getloadavg())


def _one_core_child(flag: list[str], args) -> dict:
    """Runs this script with `flag` in a child process (pinned there); its RESULT dict."""
    import subprocess

    argv = [a for a in sys.argv[1:] if not a.startswith("--reuse")]
    if args.reuse and args.reuse in argv:
        argv.remove(args.reuse)
    cmd = [sys.executable, __file__, *flag, *argv]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=REPO).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    return json.loads(line[7:])


def reused_parts(args, work: str, load) -> int:
    """Parts 3-5 in one run on the records an earlier run left in `work`."""
    r = _reused(work)
    r.update(_one_core_child(["--one-core-loaders", work], args))
    print(f"records reused from {work}; load average {load[0]:.1f}")
    _print_loaders(r)
    return train_parts(args, work, r, os.getloadavg())


def _print_loaders(r: dict) -> None:
    print("3. input pipeline on one core (examples/s, batch 32):")
    print(f"   dynamic masking (sequences) {r['dynamic_eps']:9.0f}")
    print(f"   static loader               {r['static_eps']:9.0f}  "
          f"dynamic / static = {r['dynamic_eps'] / r['static_eps']:.2f}x")  # fmt: skip


def _reused(work: str) -> dict:
    path = os.path.join(work, "result.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    from components.vocabulary import resolve_vocab_path

    names = ("seq_train", "seq_eval", "static_train", "static_eval")
    paths = {n: os.path.join(work, n.replace("_", "-") + ".tfrecord") for n in names}
    return {"paths": paths, "vocab": resolve_vocab_path("bert-base-uncased")}


def train_parts(args, work: str, r: dict, load) -> int:
    """Parts 4 and 5 (all cores) on the records of parts 1-3."""
    paths = r["paths"]
    print(f"training parts: load average {load[0]:.1f}; records in {work}")
    consumed = train_rate("mlm/mini", paths["seq_train"], r["vocab"], work, args.rounds)
    print(f"4. mlm/mini training consumes {consumed:.0f} examples/s (all cores)")
    if "dynamic_eps" in r:
        print(f"   the one-core dynamic pipeline feeds {r['dynamic_eps'] / consumed:.0f}x that")
    if args.quality_steps:
        print(f"5. quality after {args.quality_steps} steps of batch 32 (held-out static eval "
              "records, fixed masks, 20 batches):")  # fmt: skip
        runs = (
            ("bert/tiny", "static, NSP", data_config(paths["static_train"], "", False, 32)),
            ("mlm/tiny", "sequences, dynamic",
             data_config(paths["seq_train"], r["vocab"], True, 32)),
        )  # fmt: skip
        for name, label, train in runs:
            start = time.perf_counter()
            m = quality(name, train, paths["static_eval"], args.quality_steps, work)
            print(f"   {name} ({label}): masked_lm_accuracy {m['masked_lm_accuracy']:.4f}  "
                  f"masked_lm_loss {m['masked_lm_loss']:.4f}  "
                  f"({time.perf_counter() - start:.0f} s, "
                  f"load average {os.getloadavg()[0]:.1f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
