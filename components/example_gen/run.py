"""Runs the example-generation job end to end: what the executor and `bertpipe examples` share.

Checks the vocabulary and the corpus before any pipeline starts, runs the Beam transforms,
writes the vocabulary copy and the config beside the splits, refuses a run that produced no
example or no training example (naming why), and checks that every output file exists.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence

import apache_beam as beam

from components import vocabulary
from components.corpus import Corpus
from components.errors import BertpipeError
from components.example_gen import layout
from components.example_gen.config import ExampleGenConfig
from components.example_gen.transforms import GenerateMaskedLMExamples


@dataclasses.dataclass(frozen=True)
class RunSummary:
    """What a run did.

    Attributes:
      stats: the content of stats.json.
      seconds: wall time of the Beam pipeline.
    """

    stats: dict
    seconds: float

    @property
    def instances(self) -> int:
        return self.stats["total"]["instances"]


def prepare(
    corpus: Corpus | Sequence[str], vocab: str, config: ExampleGenConfig, output_dir: str
) -> tuple[GenerateMaskedLMExamples, str]:
    """Validates the vocabulary and plans the corpus: (the transform, the vocab.txt path)."""
    vocab_path = vocabulary.resolve_vocab_path(vocab)
    tokens = vocabulary.read_vocab_lines(vocab_path)
    vocabulary.validate_vocab(tokens, source=vocab_path)
    return GenerateMaskedLMExamples(Corpus.of(corpus), tokens, config, output_dir), vocab_path


def run_example_gen(
    corpus: Corpus | Sequence[str],
    vocab: str,
    config: ExampleGenConfig,
    output_dir: str,
    make_pipeline: Callable[[], beam.Pipeline],
    on_planned: Callable[[GenerateMaskedLMExamples], None] = lambda _: None,
) -> RunSummary:
    """Generates the examples of `corpus` into `output_dir` (the layout in layout.py).

    Args:
      corpus: file globs and their format (a list of globs: the format by extension).
      vocab: a vocab.txt path, a directory holding one, or a bundled name.
      config: the generation parameters.
      output_dir: the output directory (local or gs://).
      make_pipeline: builds the Beam pipeline (runner and options).
      on_planned: called with the planned transform before the pipeline runs.

    Raises:
      BertpipeError: bad vocabulary or corpus, or no example could be made.
    """
    corpus = Corpus.of(corpus)
    transform, vocab_path = prepare(corpus, vocab, config, output_dir)
    on_planned(transform)
    start = time.monotonic()
    pipeline = make_pipeline()
    _ = pipeline | "GenerateMaskedLMExamples" >> transform
    pipeline.run().wait_until_finish()
    seconds = time.monotonic() - start
    layout.write_metadata(output_dir, vocab_path, config)
    stats = _read_stats(output_dir)
    if stats["total"]["instances"] == 0:
        raise BertpipeError(_why_no_instances(corpus, stats))
    if stats["train"]["instances"] == 0:
        raise BertpipeError(_why_no_training_examples(corpus, stats, config))
    layout.check_outputs(output_dir)
    return RunSummary(stats, seconds)


def _read_stats(output_dir: str) -> dict:
    import tensorflow as tf

    with tf.io.gfile.GFile(layout.join(output_dir, layout.STATS_FILENAME)) as f:
        return json.load(f)


def _why_no_instances(corpus: Corpus, stats: dict) -> str:
    total, reading = stats["total"], stats["reading"]
    where = f"corpus {list(corpus.patterns)}"
    if total["documents"] == 0:
        bad = {k: v for k, v in reading.items() if v and k not in ("records", "documents")}
        if bad:
            return (
                f"{where} holds no readable document ({reading['records']} record(s); "
                f"skipped: {bad}); check input_format and text_field."
            )
        return f"{where} holds no document (only blank lines?); nothing to generate."
    if total["sentences"] == 0:
        return (
            f"{where} has {total['documents']} document(s) but no tokenizable sentence "
            f"({total['skipped_lines']} line(s) skipped as invalid UTF-8)."
        )
    if total["instances_without_negative"]:
        return (
            f"{where} gave no example: every instance needed a next-sentence negative from "
            f"another document and there is none ({total['documents']} document(s); "
            f"{total['instances_without_negative']} instance(s) skipped). Separate documents "
            "with a blank line; at least two are needed."
        )
    return f"{where} gave no example; see {layout.STATS_FILENAME}."


def _why_no_training_examples(corpus: Corpus, stats: dict, config: ExampleGenConfig) -> str:
    evaluation = stats["eval"]
    return (
        f"corpus {list(corpus.patterns)} gave {evaluation['instances']} example(s), all in "
        "the eval "
        f"split ({evaluation['documents']} of {stats['total']['documents']} document(s) "
        f"went there with eval_fraction {config.eval_fraction}): the training split would "
        "be empty. Add documents (a blank line between them) or lower the eval fraction."
    )
