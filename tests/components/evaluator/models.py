"""Test helper: learnable masked-LM records and tiny models that are good or broken.

In these records every masked token is `the` and every next-sentence label is 0, so a
tiny model learns both within a few dozen steps (accuracy near 1), while a model with
random weights scores near chance: a "good" and a "broken" model in seconds.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf
import tf_keras

from components import features
from components.tokenization import Normalization
from components.trainer import registry
from tests.components import tiny_model
from tests.components.trainer import records

SCHEMA = features.MaskedLMSchema(tiny_model.SEQ_LENGTH, tiny_model.MAX_PREDICTIONS)
THE = tiny_model.VOCAB.index("the")
MASK = tiny_model.VOCAB.index("[MASK]")


def learnable_records(count: int, seed: int = 0) -> list[dict]:
    """Records whose masked targets are all `the` and whose NSP labels are all 0.

    The masked positions hold [MASK] in `input_ids`, as 80% of them do in real records.
    """
    vocab_size = len(tiny_model.VOCAB)
    rows = records.make_records(SCHEMA, count, seed=seed, vocab_size=vocab_size)
    for i, row in enumerate(rows):
        ids = row[features.INPUT_IDS]
        ids[1] = 5 + i % (vocab_size - 5)  # make_records' record marker, kept in the vocab
        for position, weight in zip(
            row[features.MASKED_LM_POSITIONS], row[features.MASKED_LM_WEIGHTS]
        ):
            if weight:
                ids[position] = MASK
        row[features.MASKED_LM_IDS] = [THE if w else 0 for w in row[features.MASKED_LM_WEIGHTS]]
        row[features.NEXT_SENTENCE_LABELS] = [0]
    return rows


def write_examples(root: str, train: int = 64, eval_: int = 24, seed: int = 0) -> str:
    """`<root>/Split-train/`, `<root>/Split-eval/` and `<root>/vocab.txt`; returns root."""
    rows = learnable_records(train + eval_, seed=seed)
    records.write_split(root, "train", SCHEMA, rows[:train])
    records.write_split(root, "eval", SCHEMA, rows[train:])
    with open(f"{root}/vocab.txt", "w", encoding="utf-8") as f:
        f.write("\n".join(tiny_model.VOCAB) + "\n")
    return root


def build(config, seed: int = 0):
    """(task, model) with seeded random weights."""
    task = registry.get_task(config)
    tf_keras.utils.set_random_seed(seed)
    return task, task.build_model()


def train(task, model, steps: int = 40, learning_rate: float = 3e-3) -> None:
    """`steps` Task train steps with Adam on the config's training data."""
    optimizer = tf_keras.optimizers.Adam(learning_rate)
    iterator = iter(task.build_inputs(task.config.train_data))

    @tf.function
    def step(inputs):
        return task.train_step(inputs, model, optimizer)

    for _ in range(steps):
        step(next(iterator))


@dataclasses.dataclass(frozen=True)
class InMemoryModel:
    """The attributes of `export.LoadedModel` the evaluator reads, for a model in memory."""

    export_dir: str
    task: object
    model: object
    vocab: list
    normalization: Normalization = Normalization()
    info: dict = dataclasses.field(default_factory=lambda: {"global_step": 0})


def random_like(model) -> None:
    """Overwrites every weight with noise: a broken model of the same shape."""
    rng = np.random.default_rng(7)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(w.dtype) for w in model.get_weights()])


def export(task, model, export_dir: str, vocab_path: str, step: int = 1) -> str:
    """Writes `model` as docs/reference/export-format.md describes, with `export_model`."""
    from components.trainer import export as trainer_export
    from components.trainer.experiment import ExperimentConfig

    return trainer_export.export_model(
        task,
        model,
        export_dir,
        vocab_path=vocab_path,
        experiment=ExperimentConfig(task=task.config),
        normalization=Normalization(lower_case=True),
        step=step,
    )
