"""Benchmark: learn a WordPiece vocabulary from ~20 MB of real text with VocabGen's builder.

Corpus: the four sample corpora (moby-dick, sotu, brown, shakespeare; `pipelines.corpora`),
the last 10% of each corpus's documents held out. Measures, on this machine (wall time):

- counting: a plain-Python `collections.Counter` over the same `split_words` batches (the
  baseline: one process, no Beam), then VocabGen's Beam counting pipeline
  (`builder.count_corpus`) on the DirectRunner in-process, with 1 and with 2 worker
  processes; checks that all three give the learner byte-identical input;
- learning: tensorflow-text's learner on the counts (`learner.learn`);
- coverage: the Beam pass that tokenizes every counted word with the result;
- the share of held-out tokens that are not [UNK].

Run: `python benchmarks/vocab_gen.py [--vocab-size 16000] [--corpora moby-dick,...]`
with the project's Python (about four minutes here).
"""

from __future__ import annotations

import argparse
import collections
import os
import resource
import sys
import tempfile
import time

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, _REPO)
# Beam's worker processes import this checkout too.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [_REPO, os.environ.get("PYTHONPATH")]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HELD_OUT_SHARE = 0.1
BATCH = 1024


def split_corpus(name: str, train_dir: str) -> tuple[str, list[str]]:
    """Writes the first 90% of a corpus's documents to train_dir; returns the held-out lines."""
    from pipelines import corpora

    with open(corpora.fetch(name), encoding="utf-8") as f:
        documents = f.read().strip("\n").split("\n\n")
    cut = len(documents) - max(1, round(len(documents) * HELD_OUT_SHARE))
    path = os.path.join(train_dir, f"{name}.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n\n".join(documents[:cut]) + "\n")
    return path, "\n".join(documents[cut:]).split("\n")


def count_with_counter(paths: list[str], norm) -> tuple[collections.Counter, float]:
    """The baseline: the same normalisation and split, counted by one Python process."""
    import tensorflow as tf

    from components import tokenization

    start = time.perf_counter()
    counts = collections.Counter()
    for path in paths:
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")
        for i in range(0, len(lines), BATCH):
            words = tokenization.split_words(tf.constant(lines[i : i + BATCH]), norm)
            counts.update(words.flat_values.numpy().tolist())
    return counts, time.perf_counter() - start


RUNNERS = {
    "Beam, in-process (in_memory)": ["--direct_running_mode=in_memory"],
    "Beam, 1 worker process": ["--direct_running_mode=multi_processing", "--direct_num_workers=1"],
    "Beam, 2 worker processes": [
        "--direct_running_mode=multi_processing",
        "--direct_num_workers=2",
    ],
}


def make_pipeline(flags):
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    return lambda: beam.Pipeline(options=PipelineOptions(flags))


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def held_out_coverage(tokens, norm, lines) -> tuple[int, int]:
    from components import tokenization, vocabulary

    tokenizer = tokenization.WordPieceTokenizer(list(tokens), norm)
    lines = [line for line in lines if line.strip()]
    total = unk = 0
    for i in range(0, len(lines), BATCH):
        ids = tokenizer.tokenize(lines[i : i + BATCH]).flat_values.numpy()
        total += len(ids)
        unk += int((ids == tokenizer.id_of(vocabulary.UNK)).sum())
    return total, unk


def report(args, corpus, counter, counted, learned, coverage, held_out):
    """Prints the figures and checks."""
    (counts, counter_s), (result, learn_s), (stats, coverage_s) = counter, learned, coverage
    tokens = result.tokens
    first = next(iter(counted.values()))[0]
    print(
        f"corpus: {args.corpora}: {corpus['megabytes']:.1f} MB to learn from "
        f"({corpus['files']} files), {first.stats['lines']:,} lines, "
        f"{first.stats['total_words']:,} words, {first.stats['distinct_words']:,} distinct"
    )
    print(
        f"vocabulary: target {args.vocab_size:,}, learned {len(tokens):,} tokens "
        f"(alphabet {sum(1 for t in tokens if len(t) == 1)})"
    )
    print("\nphase                                        seconds   Counter/this")
    print(f"count     plain Python Counter, 1 process  {counter_s:8.1f}   1.00x")
    for label, (_, seconds) in counted.items():
        print(f"count     {label:<31}  {seconds:8.1f}   {counter_s / seconds:.2f}x")
    print(f"learn     tensorflow-text learner          {learn_s:8.1f}")
    print(f"coverage  Beam, 2 worker processes         {coverage_s:8.1f}")
    best = min(seconds for _, seconds in counted.values())
    print(f"total     fastest count + learn + coverage {best + learn_s + coverage_s:8.1f}")
    print("\nchecks")
    inputs = {
        (tuple(c.top_words), tuple(sorted(c.char_counts.items()))) for c, _ in counted.values()
    }
    print(f"  identical learner input from every runner: {len(inputs) == 1}")
    totals = (first.stats["total_words"], first.stats["distinct_words"])
    print(
        f"  Beam word totals equal the Counter's: {totals == (sum(counts.values()), len(counts))}"
    )
    print(f"  coverage on the learning corpus: {stats['coverage']:.4%}")
    total, unk = held_out
    print(
        f"  coverage on held-out text: {(total - unk) / total:.4%} "
        f"({unk:,} [UNK] of {total:,} tokens)"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS of the launching process (learner included): {peak:,.0f} MB")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vocab-size", type=int, default=16000)
    parser.add_argument("--corpora", default="moby-dick,sotu,brown,shakespeare")
    args = parser.parse_args(argv)

    from components.vocab_gen import VocabConfig, builder, learner

    config = VocabConfig(vocab_size=args.vocab_size)
    norm = config.normalization()
    with tempfile.TemporaryDirectory() as tmp:
        paths, held_out_lines = [], []
        for name in args.corpora.split(","):
            path, lines = split_corpus(name, tmp)
            paths.append(path)
            held_out_lines.extend(lines)
        corpus = {"files": len(paths), "megabytes": sum(map(os.path.getsize, paths)) / 1e6}
        counter = count_with_counter(paths, norm)
        counted = {}
        for i, (label, flags) in enumerate(RUNNERS.items()):
            work = os.path.join(tmp, f"work-{i}")
            counted[label] = timed(builder.count_corpus, paths, config, make_pipeline(flags), work)
        counts = counted[label][0]
        learned = timed(learner.learn, counts.top_words, counts.char_counts, config)
        coverage = timed(
            builder.measure_counts,
            counts.counts_pattern,
            learned[0].tokens,
            config,
            make_pipeline(flags),
            work,
        )
    held_out = held_out_coverage(learned[0].tokens, norm, held_out_lines)
    report(args, corpus, counter, counted, learned, coverage, held_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
