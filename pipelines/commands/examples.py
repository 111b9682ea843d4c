"""Generate masked-LM examples from a text corpus (the MaskedLMExampleGen job, standalone).

Reads the corpus (BERT layout, paragraphs, JSON lines or Parquet, optionally gzip, bzip2 or
zstd compressed; see --input-format), tokenizes it with the vocabulary, and writes
OUTPUT/Split-train/ and OUTPUT/Split-eval/ (gzip TFRecords), OUTPUT/vocab.txt,
OUTPUT/example_gen_config.json and OUTPUT/stats.json: the same layout as the component's
Examples artifact. The output appears only when complete (written aside, then moved); an
--output that holds files is refused unless --replace. Any other option is passed to Apache
Beam, e.g. --direct_running_mode=multi_processing --direct_num_workers=4, or
--runner=DataflowRunner --project=P --region=R --temp_location=gs://B/tmp.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time

from pipelines.commands import add_corpus_arguments, corpus_from_args

NAME = "examples"
HELP = "generate masked-LM TFRecords (train/eval) from a text corpus"
BEAM_ARGS = True  # Beam pipeline options arrive as args.beam_args.

# flag -> (ExampleGenConfig field, type, help)
_FLAGS = {
    "--seq-length": ("seq_length", int, "tokens per example, [CLS]/[SEP] included"),
    "--max-predictions": ("max_predictions_per_seq", int, "masked positions per example, at most"),
    "--masked-lm-prob": ("masked_lm_prob", float, "fraction of tokens to mask"),
    "--dupe-factor": ("dupe_factor", int, "passes over the corpus, each with new masks"),
    "--short-seq-prob": ("short_seq_prob", float, "chance of a shorter target length"),
    "--seed": ("seed", int, "random seed; same seed, same records"),
    "--max-ngram-size": ("max_ngram_size", int, "mask runs of up to N whole words"),
    "--eval-fraction": ("eval_fraction", float, "share of documents in the eval split"),
    "--bucket-mb": ("bucket_mb", float, "MB of text per bucket (negative pool, memory)"),
    "--format": ("format", str, "static (masked pairs, BERT) or sequences (packed, unmasked)"),
    "--packing": ("packing", str, "sequences: full_sentences or doc_sentences"),
}
_SWITCHES = {
    "--whole-word-mask": ("whole_word_mask", "mask all pieces of a word together"),
    "--lower-case": ("lower_case", "case-fold and strip accents (uncased vocabularies)"),
    "--gzip": ("gzip", "gzip the TFRecords"),
}
_PROGRESS_SECONDS = 10.0
_GOOD = ("records", "documents", "skipped_lines")  # Reading counts that are not skips.


def add_arguments(parser) -> None:
    from components.example_gen.config import ExampleGenConfig

    defaults = ExampleGenConfig()
    add_corpus_arguments(parser, "corpus files: globs or directories, comma-separated", True)
    parser.add_argument(
        "--vocab", required=True, help="vocab.txt, a directory holding one, or bert-base-uncased"
    )
    parser.add_argument("--output", required=True, help="output directory (local or gs://)")
    parser.add_argument(
        "--replace",
        action="store_true",
        help="replace an --output directory that already holds files (whole, never merged)",
    )
    for flag, (field, kind, text) in _FLAGS.items():
        default = getattr(defaults, field)
        parser.add_argument(flag, type=kind, default=None, help=f"{text} (default {default})")
    for flag, (field, text) in _SWITCHES.items():
        default = getattr(defaults, field)
        parser.add_argument(
            flag,
            action=argparse.BooleanOptionalAction,
            default=None,
            help=f"{text} (default {default})",
        )


def run(args) -> int:
    import apache_beam as beam

    from components.example_gen.config import ExampleGenConfig
    from components.example_gen.run import run_example_gen
    from pipelines import outputs
    from pipelines.beam_args import pipeline_options

    given = {field: getattr(args, _dest(flag)) for flag, (field, _, _) in _FLAGS.items()}
    given.update({field: getattr(args, _dest(flag)) for flag, (field, _) in _SWITCHES.items()})
    config = ExampleGenConfig(**{k: v for k, v in given.items() if v is not None})
    corpus = corpus_from_args(args)
    options = pipeline_options(args.beam_args, command="bertpipe examples")
    outputs.check_writable(args.output, args.replace)
    # Written aside and moved into place only when complete: a failed run leaves nothing.
    with outputs.written_aside(args.output, args.replace) as staging:
        progress = _Progress(args.output, staging)
        try:
            summary = run_example_gen(
                corpus,
                args.vocab,
                config,
                staging,
                lambda: beam.Pipeline(options=options),
                on_planned=progress.start,
            )
        finally:
            progress.stop()
    _print_summary(summary, args.output)
    return 0


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


class _Progress:
    """Prints what is planned, then every few seconds how much has been written."""

    def __init__(self, output_dir: str, staging_dir: str):
        self._output_dir = output_dir
        self._staging_dir = staging_dir
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = time.monotonic()

    def start(self, transform) -> None:
        s = transform.summary
        print(
            f"bertpipe examples: {s['corpus_bytes'] / 1e6:.1f} MB in {s['files']} file(s) "
            f"({s['empty_files']} empty) -> {s['buckets']} bucket(s); writing {self._output_dir}",
            flush=True,
        )
        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        if self._thread:
            self._thread.join()

    def _loop(self) -> None:
        while not self._done.wait(_PROGRESS_SECONDS):
            elapsed = time.monotonic() - self._start
            written = _bytes_under(self._staging_dir)
            detail = f", {written / 1e6:.1f} MB of examples written" if written is not None else ""
            print(f"bertpipe examples: running {elapsed:.0f} s{detail}", flush=True)


def _bytes_under(path: str) -> int | None:
    """Bytes written under a local directory so far (None for remote outputs)."""
    if "://" in path:
        return None
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # A temporary file renamed while we looked.
                total += os.path.getsize(os.path.join(root, name))
    return total


def _print_summary(summary, output_dir: str) -> None:
    stats, seconds = summary.stats, summary.seconds
    total = stats["total"]
    print(f"bertpipe examples: done in {seconds:.1f} s -> {output_dir}")
    print(
        f"  corpus      {stats['corpus_bytes'] / 1e6:.1f} MB, {stats['files']} file(s), "
        f"{stats['buckets']} bucket(s); {total['documents']} documents, "
        f"{total['sentences']} sentences, {total['tokens']} tokens"
    )
    for split in ("train", "eval"):
        s = stats[split]
        random_next = s["random_next"] / s["instances"] if s["instances"] else 0.0
        print(
            f"  {split:<11} {s['instances']} examples from {s['documents']} documents "
            f"({random_next:.1%} random next sentence)"
        )
    print(
        f"  skipped     {total['skipped_lines']} invalid UTF-8 line(s), "
        f"{total['empty_documents']} empty document(s), "
        f"{total['instances_without_negative']} instance(s) without a negative document; "
        f"{total['single_sentence_documents']} single-sentence document(s)"
    )
    bad = {k: v for k, v in stats["reading"].items() if v and k not in _GOOD}
    if bad:
        print("  bad records " + ", ".join(f"{k} {v}" for k, v in bad.items()))
    print(
        f"  throughput  {summary.instances / seconds:.0f} examples/s, "
        f"{stats['corpus_bytes'] / 1e6 / seconds:.2f} MB/s of corpus"
    )
    warning = _random_next_warning(stats["train"])
    if warning:
        print(f"bertpipe: warning: {warning}", file=sys.stderr)


def _random_next_warning(train: dict) -> str | None:
    """Why nearly every next-sentence label is "random", or None when it is not so.

    As in BERT's reference generator, sentences are gathered into a chunk until it reaches
    the target length (about seq_length - 3 tokens); a chunk of one sentence can only be
    followed by a sentence of another document. When seq_length is so small that one
    sentence fills the target, every pair is a random-next pair and the next-sentence task
    learns nothing.
    """
    if not train["instances"] or train["random_next"] < 0.9 * train["instances"]:
        return None
    return (
        f"{train['random_next'] / train['instances']:.1%} of the training examples have a "
        "random next sentence (about 50% expected): at this --seq-length one sentence fills "
        "a whole segment, and a one-sentence segment always takes its next sentence from "
        "another document; raise --seq-length (BERT uses 128 or 512)."
    )
