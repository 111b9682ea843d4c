"""The corpus reader's Beam source: buckets planned at construction, read on the workers.

```
Create(buckets) -> Reshuffle -> ReadBucket ---> lines (str)
                                           `--> counts (one dict per bucket) -> SumCounts
```

The plan (files checked, buckets cut) is made when the transform is constructed, so a bad
glob or a file that is not what it claims fails before the pipeline runs; only bucket
descriptors are shuffled.
"""

from __future__ import annotations

import apache_beam as beam

from components.corpus import reader
from components.corpus.config import Corpus

COUNTER_NAMESPACE = "bertpipe.corpus"
# Bytes per bucket when reading lines: the unit of parallelism (nothing is held per bucket).
LINE_BUCKET_BYTES = 16 << 20
COUNTS = "counts"


class ReadCorpusLines(beam.PTransform):
    """A corpus -> its documents' lines (str; paragraphs are not split), plus read counts.

    Args:
      corpus: the globs and reading settings (planned and checked here).
      bucket_bytes: bytes per bucket (parallelism).

    Returns:
      A DoOutputsTuple: `lines` (str) and `counts` (one dict of `reader.READ_COUNTS` per
      bucket; sum them with `SumCounts`).
    """

    def __init__(self, corpus: Corpus, bucket_bytes: int = LINE_BUCKET_BYTES):
        super().__init__()
        self.corpus = corpus
        self.files = reader.match_files(corpus)
        self.buckets = reader.plan_corpus(corpus, self.files, bucket_bytes)

    def expand(self, pbegin):
        return (
            pbegin
            | "CreateBuckets" >> beam.Create(self.buckets, reshuffle=False)
            | "DistributeBuckets" >> beam.Reshuffle()
            | "ReadBucket"
            >> beam.ParDo(_ReadLinesFn(self.corpus)).with_outputs(COUNTS, main="lines")
        )


class _ReadLinesFn(beam.DoFn):
    def __init__(self, corpus: Corpus):
        self._format = corpus.format
        self._counters = {
            name: beam.metrics.Metrics.counter(COUNTER_NAMESPACE, name)
            for name in reader.READ_COUNTS
        }

    def process(self, bucket):
        counts = reader.empty_counts()
        for segment in bucket.segments:
            for doc in reader.read_segment(segment, self._format, counts, split=False):
                yield from doc.sentences
        for name, value in counts.items():
            self._counters[name].inc(value)
        yield beam.pvalue.TaggedOutput(COUNTS, counts)


class SumCountsFn(beam.CombineFn):
    """Sums dicts of `reader.READ_COUNTS` (all zero for no input)."""

    def create_accumulator(self):
        return reader.empty_counts()

    def add_input(self, accumulator, counts):
        for name, value in counts.items():
            accumulator[name] += value
        return accumulator

    def merge_accumulators(self, accumulators):
        merged = self.create_accumulator()
        for accumulator in accumulators:
            self.add_input(merged, accumulator)
        return merged

    def extract_output(self, accumulator):
        return accumulator
