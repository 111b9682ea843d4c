"""Statistics of an example-generation run: counts and histograms per split (`stats.json`).

Every skip is counted here (and mirrored as Beam counters), so nothing is lost silently:

| count                      | meaning                                                    |
|----------------------------|------------------------------------------------------------|
| documents                  | documents read (blank-line separated)                      |
| empty_documents            | documents with no tokens left (e.g. every line invalid)    |
| single_sentence_documents  | too short for a real next-sentence pair (negatives only)   |
| sentences, tokens          | non-empty sentences and their WordPiece tokens             |
| skipped_lines              | lines that are not valid UTF-8 (skipped)                   |
| instances                  | examples written                                           |
| random_next                | examples whose B is a random document (label 1)           |
| instances_without_negative | instances skipped: no other document in the bucket         |
| cross_split_negatives      | negatives taken from a document of the other split         |
| masked_tokens              | masked positions over all examples                         |
| split_sentences            | `sequences` format: sentences longer than a sequence, cut  |

With `format: sequences`, `instances` counts packed sequences; `random_next`,
`instances_without_negative`, `cross_split_negatives` and `masked_tokens` stay 0 (there are
no pairs and no masks: the trainer masks as it reads).

Reading counts (`reading`, `components.corpus.documents.READ_COUNTS`): records read and the
bad ones skipped (invalid JSON, a missing or non-string text field, undecodable bytes, an
empty text).

Histograms: `sequence_length` (non-padding tokens per example, index = length) and
`masked_count` (predictions per example, index = count).
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from components.corpus.documents import empty_counts

TRAIN, EVAL = "train", "eval"
SPLITS: tuple[str, ...] = (TRAIN, EVAL)
COUNTS: tuple[str, ...] = (
    "documents",
    "empty_documents",
    "single_sentence_documents",
    "sentences",
    "tokens",
    "skipped_lines",
    "instances",
    "random_next",
    "instances_without_negative",
    "cross_split_negatives",
    "masked_tokens",
    "split_sentences",
)


@dataclasses.dataclass
class SplitStats:
    """Counts and histograms of one split."""

    counts: dict[str, int]
    sequence_length: np.ndarray  # int64 [seq_length + 1]
    masked_count: np.ndarray  # int64 [max_predictions_per_seq + 1]

    @classmethod
    def empty(cls, seq_length: int, max_predictions: int) -> SplitStats:
        return cls(
            dict.fromkeys(COUNTS, 0),
            np.zeros(seq_length + 1, np.int64),
            np.zeros(max_predictions + 1, np.int64),
        )

    def add_examples(self, lengths: np.ndarray, masked: np.ndarray, random_next: int) -> None:
        """Records a batch of written examples."""
        self.counts["instances"] += len(lengths)
        self.counts["random_next"] += int(random_next)
        self.counts["masked_tokens"] += int(np.sum(masked))
        self.sequence_length += np.bincount(lengths, minlength=len(self.sequence_length))
        self.masked_count += np.bincount(masked, minlength=len(self.masked_count))

    def merge(self, other: SplitStats) -> None:
        for key, value in other.counts.items():
            self.counts[key] += value
        self.sequence_length += other.sequence_length
        self.masked_count += other.masked_count


@dataclasses.dataclass
class ExampleGenStats:
    """Per-split statistics; merged across buckets by the Beam combiner."""

    splits: dict[str, SplitStats]
    reading: dict[str, int] = dataclasses.field(default_factory=empty_counts)

    @classmethod
    def empty(cls, seq_length: int, max_predictions: int) -> ExampleGenStats:
        return cls({s: SplitStats.empty(seq_length, max_predictions) for s in SPLITS})

    def merge(self, other: ExampleGenStats) -> ExampleGenStats:
        for name, split in other.splits.items():
            self.splits[name].merge(split)
        for name, value in other.reading.items():
            self.reading[name] += value
        return self

    def total(self, count: str) -> int:
        return sum(split.counts[count] for split in self.splits.values())

    def to_dict(self, **extra) -> dict:
        """JSON-ready: `extra` (e.g. files read) first, then per-split counts/histograms."""
        out = dict(extra)
        out["reading"] = dict(self.reading)
        out["total"] = {c: self.total(c) for c in COUNTS}
        for name, split in self.splits.items():
            out[name] = {
                **split.counts,
                "sequence_length_histogram": split.sequence_length.tolist(),
                "masked_count_histogram": split.masked_count.tolist(),
            }
        return out

    def to_json(self, **extra) -> str:
        return json.dumps(self.to_dict(**extra), indent=2, sort_keys=False) + "\n"
