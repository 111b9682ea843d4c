"""Benchmark the corpus reader: every format against the plain-text floor, and the splitter.

The same documents (a sample corpus, `moby-dick` by default, as `bertpipe corpus fetch`
caches it) are written in each format; each figure is one process on one core:

- reading + tokenizing (the reader's `read_chunks`, then WordPiece with bert-base-uncased,
  as the example generator does), in MB/s of the BERT-layout text, for BERT layout (the
  floor), paragraphs, JSONL, Parquet and gzip/bzip2/zstd JSONL; ratio to the floor;
- the sentence splitter against the simple regex splitter, the sample corpora's splitter
  (pipelines/corpora.py) and, when installed, NLTK's Punkt with no trained model: MB/s on
  the paragraphs and the hand-written cases of tests/components/corpus/test_sentences.py;
- example generation (read, split, tokenize, pair, mask, serialize; no Beam) from JSONL
  paragraphs against the same text in BERT layout, in instances/s.

Run: `python benchmarks/corpora.py [--corpus moby-dick] [--repeat 3]` from the repository
root; the fastest of `--repeat` runs counts. Prints the machine's load average.
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from components.corpus import Corpus, CorpusFormat, reader
from components.corpus.documents import empty_counts
from components.corpus.sentences import regex_split, split_sentences

PARAGRAPH_SENTENCES = 5  # Sentences joined into one paragraph line.


def write_formats(docs: list[list[str]], work: str) -> dict[str, tuple[str, str]]:
    """name -> (path, input_format) of the same documents in every format."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import zstandard

    paragraphs = [
        [" ".join(d[i : i + PARAGRAPH_SENTENCES]) for i in range(0, len(d), PARAGRAPH_SENTENCES)]
        for d in docs
    ]
    out = {}

    def write(name, data: bytes, fmt="auto"):
        path = os.path.join(work, name)
        with open(path, "wb") as f:
            f.write(data)
        out[name] = (path, fmt)

    write("bert.txt", "\n\n".join("\n".join(d) for d in docs).encode() + b"\n")
    write(
        "paragraphs.txt",
        "\n\n".join("\n".join(p) for p in paragraphs).encode() + b"\n",
        "paragraphs",
    )
    jsonl = "".join(json.dumps({"text": "\n".join(p)}) + "\n" for p in paragraphs).encode()
    write("paragraphs.jsonl", jsonl)
    write("paragraphs.jsonl.gz", gzip.compress(jsonl, 6))
    write("paragraphs.jsonl.bz2", bz2.compress(jsonl))
    write("paragraphs.jsonl.zst", zstandard.ZstdCompressor(level=3).compress(jsonl))
    path = os.path.join(work, "paragraphs.parquet")
    pq.write_table(pa.table({"text": ["\n".join(p) for p in paragraphs]}), path)
    out["paragraphs.parquet"] = (path, "auto")
    return out


def read_and_tokenize(path: str, fmt: str, tokenize) -> tuple[float, int]:
    """(seconds, tokens): every document read as the generator reads it, then tokenized."""
    start = time.perf_counter()
    corpus = Corpus((path,), CorpusFormat(input_format=fmt))
    buckets = reader.plan_corpus(corpus, reader.match_files(corpus), 4 << 20)
    tokens = 0
    for bucket in buckets:
        for _, docs in reader.read_chunks(bucket, corpus.format, 4 << 20, empty_counts()):
            texts = [s for d in docs for s in d.sentences]
            for i in range(0, len(texts), 4096):
                tokens += len(tokenize(texts[i : i + 4096])[0])
    return time.perf_counter() - start, tokens


def generate(path: str, fmt: str, config, tokens_list) -> tuple[float, int]:
    """(seconds, instances) of reading + generating every bucket in this process."""
    from components.example_gen.generator import ExampleGenerator
    from components.example_gen.stats import ExampleGenStats

    generator = ExampleGenerator(config, tokens_list)
    start = time.perf_counter()
    corpus = Corpus((path,), CorpusFormat(input_format=fmt))
    stats = ExampleGenStats.empty(config.seq_length, config.max_predictions_per_seq)
    for bucket in reader.plan_corpus(corpus, reader.match_files(corpus), config.bucket_bytes):
        chunks = reader.read_chunks(bucket, corpus.format, config.bucket_bytes, empty_counts())
        for chunk, docs in chunks:
            for _ in generator.generate(bucket.index + (chunk << 32), docs, stats):
                pass
    return time.perf_counter() - start, stats.total("instances")


def best(repeat: int, fn, *args):
    runs = [fn(*args) for _ in range(repeat)]
    return min(runs, key=lambda r: r[0])


def splitters() -> dict:
    from pipelines.corpora import split_sentences as sample_split

    found = {
        "bertpipe": split_sentences,
        "simple regex": regex_split,
        "sample corpora": sample_split,
    }
    try:
        from nltk.tokenize.punkt import PunktSentenceTokenizer

        found["nltk punkt (untrained)"] = PunktSentenceTokenizer().tokenize
    except ImportError:
        pass
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default="moby-dick", help="a sample corpus name")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from components.example_gen.config import ExampleGenConfig
    from components.example_gen.generator import wordpiece_tokenize_fn
    from components.vocabulary import load_vocab
    from pipelines import corpora
    from tests.components.corpus.test_sentences import CASES

    with open(corpora.fetch(args.corpus), encoding="utf-8") as f:
        text = f.read()
    docs = [block.split("\n") for block in text.strip().split("\n\n")]
    vocab = load_vocab("bert-base-uncased")
    tokenize = wordpiece_tokenize_fn(vocab, lower_case=True)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (1 min)")
    with tempfile.TemporaryDirectory() as work:
        files = write_formats(docs, work)
        mb = os.path.getsize(files["bert.txt"][0]) / 1e6
        print(f"corpus: {args.corpus}, {len(docs)} documents, {mb:.2f} MB in BERT layout")
        print("\nread + tokenize, one process (MB/s of the BERT-layout text; ratio to the floor)")
        floor = None
        for name, (path, fmt) in files.items():
            seconds, tokens = best(args.repeat, read_and_tokenize, path, fmt, tokenize)
            floor = floor or seconds
            size = os.path.getsize(path) / 1e6
            print(
                f"  {name:<22} {mb / seconds:6.2f} MB/s  x{floor / seconds:.2f}  "
                f"({tokens:,} tokens, file {size:.2f} MB)"
            )

        with open(files["paragraphs.txt"][0], encoding="utf-8") as f:
            paragraphs = [line for line in f.read().split("\n") if line]
        para_mb = sum(len(p.encode()) for p in paragraphs) / 1e6
        print(f"\nsentence splitting: {para_mb:.2f} MB of paragraphs; {len(CASES)} hand cases")
        base = None
        for name, fn in splitters().items():
            seconds = min(_time_split(fn, paragraphs) for _ in range(args.repeat))
            base = base or seconds
            right = sum(fn(t) == e for t, e in CASES)
            print(
                f"  {name:<24} {para_mb / seconds:6.2f} MB/s  x{base / seconds:.2f}  "
                f"cases right {right}/{len(CASES)}"
            )

        config = ExampleGenConfig(dupe_factor=1)
        print("\nexample generation, one process, dupe_factor 1, seq 128 (instances/s)")
        rows = [("bert.txt", "BERT layout"), ("paragraphs.jsonl", "JSONL paragraphs")]
        baseline = None
        for name, label in rows:
            path, fmt = files[name]
            seconds, instances = best(args.repeat, generate, path, fmt, config, vocab)
            rate = instances / seconds
            baseline = baseline or rate
            print(f"  {label:<18} {rate:8.0f} instances/s  x{rate / baseline:.2f}  ({instances:,})")


def _time_split(fn, paragraphs) -> float:
    start = time.perf_counter()
    for p in paragraphs:
        fn(p)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
