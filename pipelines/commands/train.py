"""Train a BERT masked-LM experiment on masked-LM examples, outside any pipeline.

The same loop as the pipeline's Trainer (checkpoints, resume, validation, TensorBoard,
export), on this machine's CPU/GPUs, a TPU VM, or a multi-worker cluster (TF_CONFIG).

  bertpipe train --experiment bert/tiny --examples runs/examples --model-dir runs/tiny
  bertpipe train --experiment bert/base_seq128 --param runtime.tpu=local \\
      --train-examples 'gs://b/ex/Split-train/*' --eval-examples 'gs://b/ex/Split-eval/*' \\
      --model-dir gs://b/models/base128

`--examples DIR` (an example generator output) supplies the train/eval splits, the
vocabulary and the record lengths; with globs, they come from the directory the globs are
in when it is one, else from `--vocab` and the experiment. With `task.init_checkpoint`, the
checkpoint's vocab.txt must be that vocabulary, token for token (checked before anything
is written). A killed run started again with
the same --model-dir continues from its latest checkpoint; on SIGTERM (preemption) the
run saves a checkpoint at the next step boundary and exits with status 143. Outputs
under --model-dir: checkpoints/, summaries/ (TensorBoard), export/ (the SavedModel,
unless --export-dir).
"""

from __future__ import annotations

import json
import logging
import os
import sys

NAME = "train"
HELP = "train a masked-LM experiment (checkpoints, resume, export)"


def add_arguments(parser) -> None:
    parser.add_argument("--experiment", required=True, help="a named experiment, e.g. bert/tiny")
    parser.add_argument("--config", metavar="FILE", help="YAML/JSON experiment overrides")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one value, e.g. trainer.train_steps=500 (repeatable)",
    )
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--examples", metavar="DIR", help="example generator output directory")
    data.add_argument("--train-examples", metavar="GLOB", help="training TFRecords")
    parser.add_argument("--eval-examples", metavar="GLOB", help="validation TFRecords")
    parser.add_argument("--vocab", metavar="FILE", help="vocab.txt, for examples without one")
    parser.add_argument("--model-dir", required=True, metavar="DIR", help="run directory")
    parser.add_argument("--export-dir", metavar="DIR", help="default: <model-dir>/export")
    parser.add_argument(
        "--print-config", action="store_true", help="print the resolved experiment and exit"
    )


def run(args) -> int:
    from components import configs
    from components.tokenization import Normalization
    from components.trainer import distribute, export, registry, train_lib

    _log_progress()
    experiment, vocab_path, lower_case = _resolve(args)
    if args.print_config:
        print(json.dumps(configs.to_dict(experiment), indent=2, sort_keys=True))
        return 0
    registry.get_task(experiment.task).check_vocabulary(vocab_path)
    result = train_lib.run_experiment(
        experiment,
        checkpoint_dir=_join(args.model_dir, "checkpoints"),
        summary_dir=_join(args.model_dir, "summaries"),
    )
    print(f"bertpipe: trained {args.experiment} to step {result.step}", flush=True)
    for name, value in sorted(result.validation_logs.items()):
        print(f"  validation {name:<24} {value:.4f}")
    if result.validation_skipped:
        print(f"  validation skipped: {result.validation_skipped}")
    if not distribute.is_chief(result.trainer.strategy):
        return 0
    export_dir = args.export_dir or _join(args.model_dir, "export")
    export.export_model(
        result.trainer.task,
        result.trainer.model,
        export_dir,
        vocab_path=vocab_path,
        experiment=experiment,
        normalization=Normalization(lower_case=lower_case),
        step=result.step,
    )
    print(f"bertpipe: exported to {export_dir}")
    return 0


def _resolve(args):
    """(experiment, vocabulary path, lower_case) from the flags and the examples."""
    from components.errors import BertpipeError
    from components.trainer import examples_metadata as em
    from components.trainer import experiments

    loaded = experiments.load_experiment(
        args.experiment, config_file=args.config, params=args.param
    )
    if args.examples:
        train = [_join(args.examples, "Split-train", "*")]
        evaluation = [args.eval_examples or _join(args.examples, "Split-eval", "*")]
        metadata = em.read_examples_metadata(args.examples)
    else:
        train = [args.train_examples]
        evaluation = [args.eval_examples] if args.eval_examples else []
        metadata = em.metadata_for_patterns(train + evaluation)
    experiment = em.with_input_paths(loaded.config, train, evaluation)
    if metadata is not None:
        if args.vocab:
            raise BertpipeError(
                f"the examples carry their vocabulary ({metadata.vocab_path}); drop --vocab."
            )
        experiment = em.apply_examples_metadata(experiment, metadata, loaded.user_keys)
        return experiment, metadata.vocab_path, metadata.lower_case
    if not args.vocab:
        raise BertpipeError(
            "these examples have no vocab.txt/example_gen_config.json beside their Split-*/ "
            "directories: pass --vocab FILE (the vocabulary they were written with)."
        )
    metadata = _vocab_only(args.vocab, experiment)
    experiment = em.apply_examples_metadata(experiment, metadata, loaded.user_keys)
    logging.getLogger("components.trainer").info(
        "no example_gen_config.json: lengths from the experiment, uncased normalisation"
    )
    return experiment, args.vocab, True


def _vocab_only(vocab: str, experiment):
    """Metadata for examples that have none: the vocabulary's size, the config's lengths."""
    from components import vocabulary
    from components.trainer.examples_metadata import ExamplesMetadata

    tokens = vocabulary.load_vocab(vocab)
    data = experiment.task.train_data
    return ExamplesMetadata(
        root=os.path.dirname(vocab),
        vocab_path=vocab,
        vocab_size=len(tokens),
        seq_length=data.seq_length,
        max_predictions_per_seq=data.max_predictions_per_seq,
        lower_case=True,
    )


def _join(*parts: str) -> str:
    import posixpath

    return posixpath.join(*parts)


def _log_progress() -> None:
    """Progress lines of the trainer (logger `components`) on stderr, once per process."""
    logger = logging.getLogger("components")
    logger.setLevel(logging.INFO)
    if any(getattr(h, "_bertpipe", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    handler._bertpipe = True
    logger.addHandler(handler)
    # Libraries may give the root logger a handler later (TensorFlow's saving does):
    # without this every line would print twice.
    logger.propagate = False
