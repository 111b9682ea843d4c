"""Named experiments, and loading one with a config file and `key=value` overrides.

The registered experiments are listed here, in one place (no registration by import side
effect); `get_experiment(name)` returns a new `ExperimentConfig`, and a miss names the
registered experiments and the closest one. `load_experiment` applies, in order, a YAML/
JSON file of overrides and `--param key=value` flags, checking every key with
`components/configs.py` (an error names the dotted key and where it came from).

The BERT recipes follow Devlin et al. (2019): 1M steps of batch 256, the first 90% at
sequence length 128 (20 predictions), the last 10% at 512 (76 predictions, Model Garden's
phase-2 setting); AdamW, learning rate 1e-4, 10k warm-up steps, linear decay, weight decay
0.01, gradient clipping at global norm 1. The phase-2 experiments warm-start from the
phase-1 run: set `task.init_checkpoint`. They validate on 100 full batches
(`drop_remainder=true`, which TPUs need) every 10k steps. `vocab_size`, `seq_length` and
`max_predictions_per_seq` follow the examples they train on (`examples_metadata.py`).

The `mlm/*` experiments are the RoBERTa-style recipe: no next-sentence head, packed
sequences (`bertpipe examples --format sequences`) masked afresh in the input pipeline
(`dynamic_masking.py`); `*_mask30` masks 30% as ModernBERT and MosaicBERT do. Their
`max_predictions_per_seq` is the experiment's (sequences carry no masks), their
`seq_length` follows the examples.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from components import configs
from components.errors import BertpipeError
from components.trainer.configs import BertConfig, DataConfig, MaskedLMConfig, MaskingConfig
from components.trainer.experiment import (
    ExperimentConfig,
    OptimizerConfig,
    RuntimeConfig,
    TrainerConfig,
)


def _task(size: str, seq_length: int, predictions: int, batch: int, **model) -> MaskedLMConfig:
    data = {"seq_length": seq_length, "max_predictions_per_seq": predictions}
    return MaskedLMConfig(
        train_data=DataConfig(global_batch_size=batch, **data),
        validation_data=DataConfig(
            global_batch_size=batch, is_training=False, drop_remainder=True, **data
        ),
        model=BertConfig.sized(size, **model),
    )


def _bert(size: str, seq_length: int, predictions: int, train_steps: int) -> ExperimentConfig:
    """A published-recipe BERT pretraining phase (batch 256, TPU-ready defaults)."""
    return ExperimentConfig(
        task=_task(size, seq_length, predictions, batch=256),
        trainer=TrainerConfig(
            train_steps=train_steps,
            steps_per_loop=1000,
            checkpoint_interval=10_000,
            summary_interval=1000,
            validation_interval=10_000,
            validation_steps=100,
            optimizer=OptimizerConfig(learning_rate=1e-4, warmup_steps=10_000),
        ),
    )


def _small(size: str, learning_rate: float) -> ExperimentConfig:
    """A miniature BERT for tests, local pipelines and CPU benchmarks (batch 32)."""
    task = _task(size, seq_length=128, predictions=20, batch=32)
    return ExperimentConfig(
        task=dataclasses.replace(
            task, validation_data=dataclasses.replace(task.validation_data, drop_remainder=False)
        ),
        trainer=TrainerConfig(
            train_steps=1000,
            steps_per_loop=50,
            checkpoint_interval=500,
            summary_interval=50,
            optimizer=OptimizerConfig(learning_rate=learning_rate, warmup_steps=100),
        ),
        runtime=RuntimeConfig(mixed_precision_dtype="float32"),
    )


def _mlm(base: ExperimentConfig, masked_lm_prob: float = 0.15, predictions: int | None = None):
    """`base` as an MLM-only recipe: packed sequences, dynamic masks, no next-sentence head."""
    masking = MaskingConfig(masked_lm_prob=masked_lm_prob)

    def data(d: DataConfig) -> DataConfig:
        return dataclasses.replace(
            d,
            record_format="sequences",
            use_next_sentence_label=False,
            masking=masking,
            max_predictions_per_seq=predictions or d.max_predictions_per_seq,
        )

    task = base.task
    task = dataclasses.replace(
        task, train_data=data(task.train_data), validation_data=data(task.validation_data)
    )
    return dataclasses.replace(base, task=task)


EXPERIMENTS: dict[str, Callable[[], ExperimentConfig]] = {
    "bert/tiny": lambda: _small("tiny", learning_rate=1e-3),
    "bert/mini": lambda: _small("mini", learning_rate=5e-4),
    "bert/base_seq128": lambda: _bert("base", 128, 20, train_steps=900_000),
    "bert/base_seq512": lambda: _bert("base", 512, 76, train_steps=100_000),
    "bert/large_seq512": lambda: _bert("large", 512, 76, train_steps=1_000_000),
    # MLM-only (RoBERTa): packed sequences (`format: sequences`), masks drawn as read.
    "mlm/tiny": lambda: _mlm(_small("tiny", learning_rate=1e-3)),
    "mlm/mini": lambda: _mlm(_small("mini", learning_rate=5e-4)),
    "mlm/mini_mask30": lambda: _mlm(_small("mini", learning_rate=5e-4), 0.3, predictions=40),
    "mlm/base_seq128": lambda: _mlm(_bert("base", 128, 20, train_steps=900_000)),
    "mlm/base_seq512": lambda: _mlm(_bert("base", 512, 80, train_steps=1_000_000)),
    # ModernBERT / MosaicBERT mask 30%: up to 160 of 512 tokens (0.3 * 509 real tokens).
    "mlm/base_seq512_mask30": lambda: _mlm(
        _bert("base", 512, 80, train_steps=1_000_000), 0.3, predictions=160
    ),
}


def experiment_names() -> list[str]:
    """The registered experiment names, sorted."""
    return sorted(EXPERIMENTS)


def get_experiment(name: str) -> ExperimentConfig:
    """A new `ExperimentConfig` of the registered experiment `name`.

    Raises:
      BertpipeError: `name` is not registered; names the registered ones and the closest.
    """
    if name not in EXPERIMENTS:
        close = difflib.get_close_matches(str(name), EXPERIMENTS, n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise BertpipeError(
            f"unknown experiment {name!r}; registered experiments: {experiment_names()}.{hint}"
        )
    return EXPERIMENTS[name]()


@dataclasses.dataclass(frozen=True)
class LoadedExperiment:
    """An experiment and which keys the user set explicitly (file, flags), as nested data."""

    config: ExperimentConfig
    user_keys: Mapping[str, Any]


def load_experiment(
    name: str,
    *,
    config_file: str | None = None,
    config_data: Mapping[str, Any] | None = None,
    params: Iterable[str] = (),
    params_source: str = "--param",
    data_source: str = "the experiment config data",
) -> LoadedExperiment:
    """The named experiment with overrides from a file, data and `key=value` strings.

    Args:
      name: a registered experiment.
      config_file: a YAML/JSON file of (partial) ExperimentConfig values.
      config_data: (partial) ExperimentConfig values as plain data (e.g. from JSON).
      params: `key.sub=value` overrides, applied last.
      params_source: what to call `params` in error messages.
      data_source: what to call `config_data` in error messages (e.g. the file it is in).

    Raises:
      BertpipeError: unknown experiment, or an override with an unknown key, wrong type or
        invalid value (naming the key and its source).
    """
    data = configs.to_dict(get_experiment(name))
    user: dict[str, Any] = {}
    layers = []
    if config_file:
        layers.append((configs.load_file(config_file), config_file))
    if config_data:
        layers.append((dict(config_data), data_source))
    if params:
        layers.append((configs.parse_overrides(params, source=params_source), params_source))
    config = configs.from_dict(ExperimentConfig, data, source=f"experiment {name}")
    for layer, source in layers:
        data = configs.merge(data, layer)
        user = configs.merge(user, layer)
        config = configs.from_dict(ExperimentConfig, data, source=source)
    return LoadedExperiment(config=config, user_keys=user)


def user_value(user_keys: Mapping[str, Any], dotted: str) -> Any:
    """The value the user set for `dotted` (e.g. 'task.model.vocab_size'), or None."""
    node: Any = user_keys
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node
