"""Test helper: an Examples directory in the example generator's layout.

`Split-train/` and `Split-eval/` gzip TFRecords (written through `components/features.py`
by `records.py`), plus `vocab.txt` and `example_gen_config.json` at the root, as
`MaskedLMExampleGen` writes them. The records' masked tokens are visible in the input, so
a model learns them within a few dozen steps (the loss falls).
"""

from __future__ import annotations

import json
import os

from components import features, vocabulary
from tests.components.trainer import records

SCHEMA = features.MaskedLMSchema(16, 3)
VOCAB_SIZE = 100  # > 5 + records: records.make_records writes id 5 + i


def vocab_tokens(size: int = VOCAB_SIZE) -> list[str]:
    return [*vocabulary.RESERVED_TOKENS, *(f"w{i}" for i in range(size - 5))]


def write_examples_dir(
    root: str,
    schema: features.MaskedLMSchema = SCHEMA,
    train: int = 64,
    eval_: int = 16,
    vocab_size: int = VOCAB_SIZE,
    seed: int = 0,
) -> str:
    """Writes the layout under `root`; returns `root`."""
    os.makedirs(root, exist_ok=True)
    rows = records.make_records(schema, train + eval_, seed=seed, vocab_size=vocab_size)
    records.write_split(root, "train", schema, rows[:train])
    records.write_split(root, "eval", schema, rows[train:])
    with open(os.path.join(root, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab_tokens(vocab_size)) + "\n")
    config = {
        "seq_length": schema.seq_length,
        "max_predictions_per_seq": schema.max_predictions_per_seq,
        "lower_case": True,
    }
    with open(os.path.join(root, "example_gen_config.json"), "w") as f:
        json.dump(config, f)
    with open(os.path.join(root, "stats.json"), "w") as f:
        json.dump({"train": {"examples": train}, "eval": {"examples": eval_}}, f)
    return root
