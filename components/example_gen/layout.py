"""The output directory layout, shared by the executor, CLI and tests.

An example-generation output directory (the `Examples` artifact, or `bertpipe examples
--output DIR`) holds:

```
Split-train/data_tfrecord-00000-of-0000N.gz   masked-LM tf.train.Examples (gzip TFRecords)
Split-eval/data_tfrecord-00000-of-0000M.gz
vocab.txt                  an exact copy of the vocabulary that produced the examples
example_gen_config.json    the full ExampleGenConfig (seq_length, max_predictions_per_seq, ...)
stats.json                 counts and histograms per split (see stats.py)
```
"""

from __future__ import annotations

import os

from components import configs
from components.example_gen.config import ExampleGenConfig
from components.example_gen.stats import SPLITS

SPLIT_NAMES: tuple[str, ...] = SPLITS
TFRECORD_PREFIX = "data_tfrecord"
VOCAB_FILENAME = "vocab.txt"
CONFIG_FILENAME = "example_gen_config.json"
STATS_FILENAME = "stats.json"


def join(base: str, *parts: str) -> str:
    """os.path.join that keeps `gs://` URIs intact."""
    return "/".join([base.rstrip("/"), *parts]) if "://" in base else os.path.join(base, *parts)


def split_dir(output_dir: str, split: str) -> str:
    """`Split-<name>/`, TFX's directory for one split of an Examples artifact."""
    return join(output_dir, f"Split-{split}")


def write_metadata(output_dir: str, vocab_path: str, config: ExampleGenConfig) -> None:
    """Writes the vocabulary copy and the config JSON beside the splits."""
    import tensorflow as tf

    tf.io.gfile.makedirs(output_dir)
    tf.io.gfile.copy(vocab_path, join(output_dir, VOCAB_FILENAME), overwrite=True)
    with tf.io.gfile.GFile(join(output_dir, CONFIG_FILENAME), "w") as f:
        f.write(configs.to_json(config) + "\n")


def read_config(output_dir: str) -> ExampleGenConfig:
    """The ExampleGenConfig an output directory was written with."""
    import tensorflow as tf

    path = join(output_dir, CONFIG_FILENAME)
    with tf.io.gfile.GFile(path) as f:
        return configs.from_json(ExampleGenConfig, f.read(), source=path)


def data_files(output_dir: str, split: str) -> list[str]:
    """The TFRecord files of one split, sorted."""
    import tensorflow as tf

    return sorted(tf.io.gfile.glob(join(split_dir(output_dir, split), f"{TFRECORD_PREFIX}-*")))


def check_outputs(output_dir: str) -> None:
    """Raises RuntimeError unless every file of the layout exists (a bertpipe bug if not)."""
    import tensorflow as tf

    missing = [
        name
        for name in (VOCAB_FILENAME, CONFIG_FILENAME, STATS_FILENAME)
        if not tf.io.gfile.exists(join(output_dir, name))
    ]
    missing += [
        f"Split-{s}/{TFRECORD_PREFIX}-*" for s in SPLIT_NAMES if not data_files(output_dir, s)
    ]
    if missing:
        raise RuntimeError(f"example generation did not write {missing} under {output_dir}.")
