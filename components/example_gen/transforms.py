"""Beam transforms: corpus globs -> masked-LM TFRecords (train/eval) + stats.json.

With `format: sequences` the same transforms write packed, unmasked sequences instead
(generator.py / sequences.py); only what `CreateExamples` emits changes.

```
Create(buckets) -> Reshuffle -> CreateExamples (read, tokenize, pairs, mask, serialize)
                                  |-- train batches -> WriteExampleSplit(Split-train/)
                                  |-- eval batches  -> WriteExampleSplit(Split-eval/)
                                  `-- bucket stats  -> CombineGlobally -> stats.json
```

Memory is bounded by the bucket size, not the corpus:

- The corpus is cut into buckets when the pipeline is built (components/corpus), so
  the only shuffle is a `Reshuffle` of bucket descriptors (a few hundred bytes each). No
  document or example goes through a GroupByKey: the DirectRunner (FnApiRunner) holds every
  GroupByKey/Reshuffle input in memory between stages, so shuffling documents or examples
  would make memory grow with the corpus. `benchmarks/example_gen.py` measures peak memory
  for 1x and 10x a corpus (benchmarks/README.md).
- The trade-off: next-sentence negatives come from the same bucket (default 4 MB of text,
  dozens to hundreds of documents), not from the whole corpus as in the reference; a
  negative comes from a document stored nearby (same file or a neighbouring one). A larger
  `bucket_mb` widens the pool at the cost of memory per worker.
- The writer is Beam's file sink with runner-chosen sharding (as `WriteToTFRecord` with
  `num_shards=0`): each bundle writes its own shards (a new one every 128 MB), with no data
  shuffle. Its elements are whole batches (a bucket's pass and split), so Beam's
  per-element cost is paid per batch. Shard count and boundaries depend on the runner and
  worker count, but the *set* of records does not (every draw is keyed by seed, document id
  and pass). Records are not globally shuffled: each bucket's pass is written in a seeded
  random order, and the trainer's shuffle buffer does the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

import apache_beam as beam
from apache_beam.io import filebasedsink
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from components.corpus import Corpus, reader
from components.corpus.documents import READ_COUNTS, Bucket
from components.errors import BertpipeError
from components.example_gen import layout, tfrecord
from components.example_gen.config import ExampleGenConfig
from components.example_gen.generator import ExampleGenerator
from components.example_gen.stats import COUNTS, SPLITS, ExampleGenStats

COUNTER_NAMESPACE = "bertpipe.example_gen"
# A bundle starts a new shard after this many (compressed) bytes: shards of a size that
# reads well in parallel, and a shard count that grows with the data.
SHARD_BYTES = 128 << 20
_STATS = "stats"


class CreateExamples(beam.PTransform):
    """Buckets -> serialized examples tagged by split, plus one stats object per bucket.

    Args:
      corpus: how to read the corpus files.
      config: the generation parameters.
      tokens: the vocabulary in id order.

    Returns:
      A DoOutputsTuple with outputs 'train' and 'eval' (lists of serialized examples: one
      element per bucket, pass and split, so Beam's per-element cost is paid per batch) and
      'stats' (one ExampleGenStats per bucket).
    """

    def __init__(self, corpus: Corpus, config: ExampleGenConfig, tokens: list[str]):
        super().__init__()
        self._fn = _CreateExamplesFn(corpus, config, tokens)

    def expand(self, buckets):
        return buckets | beam.ParDo(self._fn).with_outputs(_STATS, *SPLITS)


class _CreateExamplesFn(beam.DoFn):
    def __init__(self, corpus: Corpus, config: ExampleGenConfig, tokens: list[str]):
        self._format = corpus.format
        self._config = config
        self._tokens = tokens
        self._counters = {
            (split, name): beam.metrics.Metrics.counter(COUNTER_NAMESPACE, f"{split}_{name}")
            for split in SPLITS
            for name in COUNTS
        }
        self._buckets = beam.metrics.Metrics.counter(COUNTER_NAMESPACE, "buckets")
        self._read = {
            name: beam.metrics.Metrics.counter(COUNTER_NAMESPACE, f"read_{name}")
            for name in READ_COUNTS
        }

    def setup(self):
        self._generator = ExampleGenerator(self._config, self._tokens)

    def process(self, bucket: Bucket):
        c = self._config
        stats = ExampleGenStats.empty(c.seq_length, c.max_predictions_per_seq)
        chunks = reader.read_chunks(bucket, self._format, c.bucket_bytes, stats.reading)
        for chunk, docs in chunks:
            # A bucket read in chunks (a compressed file, Parquet row groups) gives each
            # chunk its own order seed; chunk 0 keeps the bucket's.
            key = bucket.index + (chunk << 32)
            for split, records in self._generator.generate(key, docs, stats):
                yield beam.pvalue.TaggedOutput(split, records)
        for split in SPLITS:
            for name, value in stats.splits[split].counts.items():
                self._counters[split, name].inc(value)
        for name, value in stats.reading.items():
            self._read[name].inc(value)
        self._buckets.inc()
        yield beam.pvalue.TaggedOutput(_STATS, stats)


class _TFRecordBatchSink(filebasedsink.FileBasedSink):
    """A TFRecord sink whose elements are lists of records, framed and written at once."""

    def __init__(self, file_path_prefix: str, gzip: bool, shard_bytes: int):
        super().__init__(
            file_path_prefix,
            coder=None,
            file_name_suffix=".gz" if gzip else "",
            num_shards=0,
            shard_name_template=None,
            mime_type="application/octet-stream",
            # Compressed by tfrecord.GzipWriter (level 1) instead of Beam's level-6 gzip.
            compression_type=CompressionTypes.UNCOMPRESSED,
            max_bytes_per_shard=shard_bytes,
        )
        self._gzip = gzip

    def open(self, temp_path):
        raw = super().open(temp_path)
        return tfrecord.GzipWriter(raw) if self._gzip else raw

    def write_record(self, file_handle, value):
        file_handle.write(tfrecord.frame(value))


class WriteExampleSplit(beam.PTransform):
    """Writes batches of serialized examples to `Split-<split>/data_tfrecord-SSSSS-of-NNNNN.gz`.

    Beam's file sink (temporary files, renamed on success) with runner-chosen sharding: each
    bundle writes its own shards, a new one every `shard_bytes`; no data shuffle. Reads like
    `WriteToTFRecord`'s output.
    """

    def __init__(self, output_dir: str, split: str, gzip: bool, shard_bytes: int = SHARD_BYTES):
        super().__init__()
        prefix = layout.join(layout.split_dir(output_dir, split), layout.TFRECORD_PREFIX)
        self._sink = _TFRecordBatchSink(prefix, gzip, shard_bytes)

    def expand(self, batches):
        return batches | beam.io.Write(self._sink)


class _MergeStatsFn(beam.CombineFn):
    def __init__(self, config: ExampleGenConfig):
        self._shape = (config.seq_length, config.max_predictions_per_seq)

    def create_accumulator(self):
        return ExampleGenStats.empty(*self._shape)

    def add_input(self, accumulator, stats):
        return accumulator.merge(stats)

    def merge_accumulators(self, accumulators):
        merged = self.create_accumulator()
        for accumulator in accumulators:
            merged.merge(accumulator)
        return merged

    def extract_output(self, accumulator):
        return accumulator


class WriteStats(beam.PTransform):
    """Merges the per-bucket stats and writes `stats.json` (with `extra` fields first)."""

    def __init__(self, output_dir: str, config: ExampleGenConfig, extra: dict):
        super().__init__()
        self._path = layout.join(output_dir, layout.STATS_FILENAME)
        self._config = config
        self._extra = extra

    def expand(self, stats):
        return (
            stats
            | beam.CombineGlobally(_MergeStatsFn(self._config))
            | beam.Map(_write_text, self._path, self._extra)
        )


def _write_text(stats: ExampleGenStats, path: str, extra: dict) -> str:
    with FileSystems.create(path, mime_type="application/json") as f:
        f.write(stats.to_json(**extra).encode("utf-8"))
    return path


class GenerateMaskedLMExamples(beam.PTransform):
    """The whole job: a corpus -> `output_dir` with Split-train/, Split-eval/, stats.json.

    Validates and plans when constructed: a glob that matches nothing, a file that is not
    what its extension says or an empty corpus is a BertpipeError before any pipeline runs.

    Args:
      corpus: file globs (local or any Beam filesystem, e.g. gs://) and their format; a
        list of globs is read by extension.
      tokens: the vocabulary in id order (validated).
      config: the generation parameters.
      output_dir: where the splits and stats.json go.
    """

    def __init__(
        self,
        corpus: Corpus | Sequence[str],
        tokens: list[str],
        config: ExampleGenConfig,
        output_dir: str,
    ):
        super().__init__()
        corpus = Corpus.of(corpus)
        files = reader.match_files(corpus)
        self.files = [(f.path, f.size) for f in files]
        total = sum(f.size for f in files)
        if total == 0:
            raise BertpipeError(
                f"corpus {list(corpus.patterns)} has no text: all {len(files)} matched files "
                "are empty; give files with text."
            )
        self.buckets = reader.plan_corpus(corpus, files, config.bucket_bytes)
        self._corpus, self._tokens, self._config = corpus, tokens, config
        self._output_dir = output_dir
        self.summary = {
            "corpus": list(corpus.patterns),
            "input_format": corpus.format.input_format,
            "formats": sorted({f.format for f in files}),
            "files": len(files),
            "empty_files": sum(f.size == 0 for f in files),
            "compressed_files": sum(f.compression is not None for f in files),
            "corpus_bytes": total,
            "buckets": len(self.buckets),
            "format": config.format,
        }

    def expand(self, pbegin):
        c = self._config
        outputs = (
            pbegin
            | "CreateBuckets" >> beam.Create(self.buckets, reshuffle=False)
            | "DistributeBuckets" >> beam.Reshuffle()
            | "CreateExamples" >> CreateExamples(self._corpus, c, self._tokens)
        )
        written = {
            split: outputs[split]
            | f"Write{split.title()}" >> WriteExampleSplit(self._output_dir, split, c.gzip)
            for split in SPLITS
        }
        written[_STATS] = outputs[_STATS] | "WriteStats" >> WriteStats(
            self._output_dir, c, self.summary
        )
        return written
