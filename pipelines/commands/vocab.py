"""Learn a WordPiece vocabulary from a corpus with Beam, or import and check one.

Writes vocab.txt and vocab_stats.json (coverage, word counts, parameters) into --output.
Flags this command does not define go to Beam, e.g. --direct_num_workers=2
--direct_running_mode=multi_processing, or --runner=DataflowRunner --project=... .
"""

from __future__ import annotations

import argparse
import os

from pipelines.commands import add_corpus_arguments, corpus_from_args

NAME = "vocab"
HELP = "learn (or import) a WordPiece vocabulary: vocab.txt + vocab_stats.json"
BEAM_ARGS = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_corpus_arguments(
        parser, "corpus files, globs or directories (with --import: measured for coverage)"
    )
    parser.add_argument("--output", required=True, metavar="DIR", help="where to write")
    parser.add_argument(
        "--replace",
        action="store_true",
        help="replace an --output directory that already holds files (whole, never merged)",
    )
    parser.add_argument("--vocab-size", type=int, metavar="N", help="default 30522")
    parser.add_argument("--cased", action="store_true", help="keep case (default: lower-case)")
    parser.add_argument(
        "--strip-accents",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="drop accents (default: only when lower-casing)",
    )
    parser.add_argument("--num-unused", type=int, metavar="N", help="[unusedN] slots (0)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="another VocabConfig field, e.g. --set max_unique_chars=500",
    )
    parser.add_argument(
        "--import",
        dest="vocab_uri",
        metavar="FILE|DIR|bert-base-uncased",
        help="import this vocabulary instead of learning one",
    )


def _config(args):
    from components import configs
    from components.vocab_gen import VocabConfig

    data = configs.parse_overrides(args.set)
    flags = {"vocab_size": args.vocab_size, "num_unused": args.num_unused}
    data.update({k: v for k, v in flags.items() if v is not None})
    data["lower_case"] = not args.cased
    if args.strip_accents is not None:
        data["strip_accents"] = args.strip_accents
    return configs.from_dict(VocabConfig, data, source="bertpipe vocab options")


def run(args) -> int:
    import apache_beam as beam

    from components.errors import BertpipeError
    from components.vocab_gen import builder
    from pipelines import outputs
    from pipelines.beam_args import pipeline_options

    config = _config(args)
    corpus = corpus_from_args(args)
    options = pipeline_options(args.beam_args, command="bertpipe vocab")
    if args.vocab_uri and config.learning_overrides():
        raise BertpipeError(
            "--import skips learning, so --vocab-size/--num-unused/--set "
            f"{config.learning_overrides()} do not apply; drop them or drop --import."
        )
    if not args.vocab_uri and corpus is None:
        raise BertpipeError("give --corpus GLOB to learn a vocabulary, or --import FILE.")
    outputs.check_writable(args.output, args.replace)
    # Scratch files go to <staging>/.vocab_gen_work (reachable by remote Beam workers when
    # the output is, e.g. on gs://) and are removed afterwards. The whole output is written
    # aside and moved into place only when complete: a failed run leaves nothing.
    common = {"make_pipeline": lambda: beam.Pipeline(options=options)}
    with outputs.written_aside(args.output, args.replace) as staging:
        if args.vocab_uri:
            result = builder.import_vocabulary(
                args.vocab_uri, staging, config, corpus=corpus, **common
            )
        else:
            result = builder.learn_vocabulary(corpus, staging, config, **common)
    for line in summary(result.stats, result.seconds, args.output):
        print(line)
    return 0


_GOOD = ("records", "documents", "skipped_lines")


def summary(stats: dict, seconds: dict, output: str) -> list[str]:
    """The lines `bertpipe vocab` prints."""
    lines = [f"{stats['mode']} {stats['vocab_size']:,} tokens from {stats['source']}"]
    if stats["total_words"] is not None:
        reading = stats["reading"]
        lines.append(
            f"corpus: {stats['corpus_files']} files, {reading['documents']:,} documents, "
            f"{stats['lines']:,} lines ({stats['skipped_lines']:,} skipped as not UTF-8), "
            f"{stats['total_words']:,} words, {stats['distinct_words']:,} distinct"
        )
        bad = {k: v for k, v in reading.items() if v and k not in _GOOD}
        if bad:
            lines.append("skipped records: " + ", ".join(f"{k} {v:,}" for k, v in bad.items()))
        lines.append(
            f"coverage: {stats['coverage']:.4%} of {stats['total_tokens']:,} tokens are not "
            f"[UNK] ({stats['unk_tokens']:,} [UNK])"
        )
    shortfall = _shortfall(stats)
    if shortfall:
        lines.append(shortfall)
    if seconds:
        lines.append("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()))
    lines.append(f"wrote {os.path.join(output, 'vocab.txt')} and vocab_stats.json")
    return lines


def _shortfall(stats: dict) -> str | None:
    """Why a learned vocabulary is smaller than asked, or None when within `slack_ratio`.

    The learner keeps no piece seen fewer than `min_token_count` times, so a small corpus
    gives fewer tokens than `vocab_size`; saying so beats a silently small vocabulary.
    """
    parameters = stats.get("parameters") or {}
    asked = parameters.get("vocab_size")
    slack = parameters.get("slack_ratio", 0.0)
    if stats.get("mode") != "learned" or not asked or stats["vocab_size"] >= asked * (1 - slack):
        return None
    return (
        f"note: {stats['vocab_size']:,} of the {asked:,} tokens asked for (--vocab-size): no "
        f"other piece occurs min_token_count={parameters.get('min_token_count')} times in "
        f"this corpus ({stats.get('total_words') or 0:,} words, "
        f"{stats.get('distinct_words') or 0:,} distinct); give a larger corpus or lower it "
        "with --set min_token_count=N."
    )
