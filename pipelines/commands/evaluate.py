"""Evaluate an exported model on masked-LM examples, optionally against a baseline.

Computes the Task's metrics (masked-LM accuracy and loss, next-sentence accuracy and loss,
total loss) over the records, compares them with the baseline's on the same records,
applies the thresholds, prints a table and the verdict, and writes metrics.json and
report.html (open it in a browser) to --output. Exit status 0 when the model would be
blessed, 1 when not.

--model and --baseline take an export directory (what the trainer writes; TFX:
<Model artifact>/Format-Serving) or a push destination (its newest complete version).
--examples takes a file glob, or an Examples directory (its Split-eval/ is read).
"""

from __future__ import annotations

NAME = "evaluate"
HELP = "evaluate a model on masked-LM examples; write metrics.json and report.html"


def _regression(text: str) -> tuple[str, float]:
    import argparse

    metric, sep, value = text.partition("=")
    try:
        if not sep:
            raise ValueError(text)
        return metric, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected METRIC=NUMBER, got {text!r}") from None


def add_arguments(parser) -> None:
    parser.add_argument("--model", required=True, help="export directory or push destination")
    parser.add_argument(
        "--examples", required=True, help="TFRecord glob, or an Examples dir (reads Split-eval)"
    )
    parser.add_argument("--baseline", help="export directory or push destination to compare with")
    parser.add_argument(
        "--output", default="evaluation", help="where to write (default: %(default)s)"
    )
    parser.add_argument("--thresholds", metavar="FILE", help="YAML/JSON file of thresholds")
    parser.add_argument("--min-masked-lm-accuracy", type=float)
    parser.add_argument("--max-masked-lm-loss", type=float)
    parser.add_argument("--min-next-sentence-accuracy", type=float)
    parser.add_argument(
        "--max-regression",
        type=_regression,
        action="append",
        metavar="METRIC=X",
        help="allowed worsening vs the baseline, e.g. masked_lm_accuracy=0.02 (repeatable)",
    )
    parser.add_argument("--max-eval-examples", type=int, default=0, help="0 = all records")
    parser.add_argument("--batch-size", type=int, default=0, help="0 = the experiment's")


def _thresholds(args):
    from components import configs
    from components.evaluator.blessing import Thresholds

    data = configs.load_file(args.thresholds) if args.thresholds else {}
    source = args.thresholds or "the command line"
    for name in ("min_masked_lm_accuracy", "max_masked_lm_loss", "min_next_sentence_accuracy"):
        value = getattr(args, name)
        if value is not None:
            data[name] = value
    if args.max_regression:
        data["max_regression"] = {
            **data.get("max_regression", Thresholds().max_regression),
            **dict(args.max_regression),
        }
    return configs.from_dict(Thresholds, data, source=source)


def _examples_pattern(path: str) -> str:
    import posixpath

    import tensorflow as tf

    split = posixpath.join(path, "Split-eval")
    if tf.io.gfile.isdir(path) and tf.io.gfile.isdir(split):
        return posixpath.join(split, "*")
    return path


def run(args) -> int:
    from components.errors import BertpipeError

    if args.max_eval_examples < 0 or args.batch_size < 0:
        raise BertpipeError("--max-eval-examples and --batch-size must be >= 0 (0 = default).")
    thresholds = _thresholds(args)

    from components.evaluator import evaluation
    from components.pusher import versions
    from components.trainer import export

    loaded = export.load_exported(versions.resolve_model_dir(args.model, "--model"))
    baseline = None
    if args.baseline:
        path = versions.resolve_model_dir(args.baseline, "--baseline")
        baseline = evaluation.Baseline(export.load_exported(path), f"--baseline {args.baseline}")
    outcome = evaluation.evaluate_loaded(
        loaded,
        _examples_pattern(args.examples),
        thresholds=thresholds,
        baseline=baseline,
        max_eval_examples=args.max_eval_examples,
        batch_size=args.batch_size or None,
    )
    metrics_path, report_path = evaluation.write_outputs(outcome.document, args.output)
    print(evaluation.metrics_table(outcome.document))
    print(f"wrote {metrics_path}\nwrote {report_path}")
    return 0 if outcome.decision.blessed else 1
