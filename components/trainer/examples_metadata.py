"""What an Examples directory says about its records, and making an experiment agree.

The example generator's output (a TFX `Examples` artifact or `bertpipe examples
--output DIR`) holds, beside `Split-train/` and `Split-eval/`, the vocabulary it used
(`vocab.txt`) and its config (`example_gen_config.json`, with `seq_length`,
`max_predictions_per_seq` and `lower_case`). The trainer reads both so that the model's
`vocab_size`, the data configs' lengths and the exported tokenizer follow the examples;
a user override that contradicts them fails before training. File names and the config
reader are the generator's own (`components/example_gen/layout.py`).
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Mapping, Sequence
from typing import Any

from components.errors import BertpipeError
from components.example_gen import layout
from components.trainer.configs import DataConfig
from components.trainer.experiment import ExperimentConfig
from components.trainer.experiments import user_value

VOCAB_FILENAME = layout.VOCAB_FILENAME
CONFIG_FILENAME = layout.CONFIG_FILENAME
_SPLIT_PREFIX = "Split-"


@dataclasses.dataclass(frozen=True)
class ExamplesMetadata:
    """The settings an Examples directory was written with.

    Attributes:
      root: the Examples directory (holding `Split-*/`).
      vocab_path: its `vocab.txt`.
      vocab_size: lines (tokens) of `vocab.txt`.
      seq_length, max_predictions_per_seq: the record lengths.
      lower_case: whether the text was case-folded (the tokenizer's normalisation).
      format: `static` (masked records) or `sequences` (packed, unmasked: the trainer
        masks them with `DataConfig.masking`).
    """

    root: str
    vocab_path: str
    vocab_size: int
    seq_length: int
    max_predictions_per_seq: int
    lower_case: bool
    format: str = "static"


def _join(base: str, name: str) -> str:
    # POSIX joins keep `gs://bucket/...` intact; bertpipe runs on Linux only.
    return posixpath.join(base, name)


def examples_root(pattern: str) -> str | None:
    """The Examples directory of a split pattern like `<root>/Split-train/*`, or None."""
    head = pattern.rstrip("/")
    for _ in range(2):  # '<root>/Split-x/*' or '<root>/Split-x'
        parent, name = posixpath.split(head)
        if name.startswith(_SPLIT_PREFIX):
            return parent
        head = parent
    return None


def read_examples_metadata(root: str) -> ExamplesMetadata:
    """Reads `vocab.txt` and `example_gen_config.json` from an Examples directory.

    Raises:
      BertpipeError: a file is missing or invalid (names the file).
    """
    import tensorflow as tf

    from components import vocabulary

    vocab_path = _join(root, VOCAB_FILENAME)
    config_path = _join(root, CONFIG_FILENAME)
    for path in (vocab_path, config_path):
        if not tf.io.gfile.exists(path):
            raise BertpipeError(
                f"{path} not found: the examples directory {root!r} was not written by "
                f"bertpipe's example generator (it writes {VOCAB_FILENAME} and "
                f"{CONFIG_FILENAME} beside Split-*/); pass the vocabulary and lengths "
                f"explicitly instead."
            )
    config = layout.read_config(root)
    tokens = vocabulary.read_vocab_lines(vocab_path)
    return ExamplesMetadata(
        root=root,
        vocab_path=vocab_path,
        vocab_size=len(tokens),
        seq_length=config.seq_length,
        max_predictions_per_seq=config.max_predictions_per_seq,
        lower_case=config.lower_case,
        format=config.format,
    )


def metadata_for_patterns(patterns: Sequence[str]) -> ExamplesMetadata | None:
    """The metadata of the Examples directory all `patterns` belong to, if they share one.

    Returns None when the patterns are not `<root>/Split-*/...` paths of one directory
    holding the metadata files (e.g. hand-made TFRecords).
    """
    import tensorflow as tf

    roots = {examples_root(p) for p in patterns}
    if len(roots) != 1 or None in roots:
        return None
    (root,) = roots
    if not tf.io.gfile.exists(_join(root, CONFIG_FILENAME)):
        return None
    return read_examples_metadata(root)


def apply_examples_metadata(
    experiment: ExperimentConfig, metadata: ExamplesMetadata, user_keys: Mapping[str, Any]
) -> ExperimentConfig:
    """`experiment` with its lengths and `vocab_size` set from `metadata`.

    Args:
      experiment: the loaded experiment.
      metadata: what the examples were written with.
      user_keys: the keys the user set (from `load_experiment`): a value there that
        differs from the examples is a contradiction, not a default to replace.

    Raises:
      BertpipeError: a user-set value contradicts the examples (names both).
    """
    task = experiment.task
    sequences = metadata.format == "sequences"
    if sequences and task.train_data.use_next_sentence_label:
        raise BertpipeError(
            f"the examples in {metadata.root} are packed sequences (format: sequences) "
            "without next-sentence labels, and this experiment trains a next-sentence head; "
            "use an MLM-only experiment (mlm/tiny, mlm/mini, mlm/base_seq512, ...) or "
            "generate the examples with format: static."
        )
    wanted = {
        "task.model.vocab_size": (metadata.vocab_size, f"{metadata.vocab_path} has"),
    }
    # Sequences have no mask features: max_predictions_per_seq is the experiment's own.
    names = ("seq_length",) if sequences else ("seq_length", "max_predictions_per_seq")
    for split in ("train_data", "validation_data"):
        for name in names:
            source = f"{_join(metadata.root, CONFIG_FILENAME)} says"
            wanted[f"task.{split}.{name}"] = (getattr(metadata, name), source)
    for key, (value, source) in wanted.items():
        user = user_value(user_keys, key)
        if user is not None and user != value:
            raise BertpipeError(
                f"{key}={user!r} was set explicitly, but the examples disagree: {source} "
                f"{value}. Remove the override (it follows the examples), or regenerate the "
                f"examples with that setting."
            )
    new_task = dataclasses.replace(
        task,
        train_data=data_for_examples(task.train_data, metadata),
        validation_data=data_for_examples(task.validation_data, metadata),
        model=dataclasses.replace(task.model, vocab_size=metadata.vocab_size),
    )
    return dataclasses.replace(experiment, task=new_task)


def data_for_examples(data: DataConfig, metadata: ExamplesMetadata) -> DataConfig:
    """`data` reading the examples described by `metadata`: their format and lengths.

    Static records fix `max_predictions_per_seq`; sequences are masked with the
    examples' vocabulary, up to the data config's own `max_predictions_per_seq`.
    """
    if metadata.format == "sequences":
        masking = dataclasses.replace(data.masking, vocab_path=metadata.vocab_path)
        return dataclasses.replace(
            data, seq_length=metadata.seq_length, record_format="sequences", masking=masking
        )
    return dataclasses.replace(
        data,
        seq_length=metadata.seq_length,
        max_predictions_per_seq=metadata.max_predictions_per_seq,
        record_format="static",
    )


def with_input_paths(
    experiment: ExperimentConfig, train: Sequence[str], validation: Sequence[str]
) -> ExperimentConfig:
    """`experiment` reading its train/validation records from the given patterns."""
    task = experiment.task
    new_task = dataclasses.replace(
        task,
        train_data=dataclasses.replace(task.train_data, input_path=tuple(train)),
        validation_data=dataclasses.replace(task.validation_data, input_path=tuple(validation)),
    )
    return dataclasses.replace(experiment, task=new_task)
