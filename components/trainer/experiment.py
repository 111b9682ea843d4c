"""Experiment configs: what to train (task), how (trainer) and where (runtime).

`ExperimentConfig` = `task` (`MaskedLMConfig`) + `trainer` (`TrainerConfig` with its
`OptimizerConfig`) + `runtime` (`RuntimeConfig`), the split of TF Model Garden's
`official/core` experiment configs. Frozen dataclasses, validated in `__post_init__`,
loaded and overridden with `components/configs.py`; named experiments live in
`experiments.py`. No TensorFlow import.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from components.configs import check_int, check_number
from components.errors import BertpipeError
from components.trainer.configs import MaskedLMConfig

Strategy = Literal["auto", "tpu", "multi_worker_mirrored", "mirrored", "one_device", "default"]
Precision = Literal["auto", "float32", "bfloat16", "float16"]

STRATEGIES: tuple[str, ...] = (
    "auto",
    "tpu",
    "multi_worker_mirrored",
    "mirrored",
    "one_device",
    "default",
)


@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
    """AdamW with a linear warm-up, polynomial decay and global-norm clipping.

    The learning rate rises linearly from 0 to `learning_rate` over `warmup_steps`, then
    follows a polynomial decay from `learning_rate` (at step 0, as in BERT) to
    `end_learning_rate` at `decay_steps` (power 1 = linear). Weight decay is decoupled
    (`variable -= learning_rate * weight_decay * variable`) and skipped for variables
    whose name matches any regular expression in `exclude_from_weight_decay` (layer norms
    and biases, as in BERT).

    Attributes:
      learning_rate: the peak learning rate.
      warmup_steps: steps of linear warm-up (0 = none).
      decay_steps: steps of the polynomial decay; None = `trainer.train_steps`.
      end_learning_rate: the learning rate after `decay_steps`.
      power: the decay polynomial's power (1.0 = linear).
      weight_decay: decoupled weight-decay rate (0 = plain Adam).
      exclude_from_weight_decay: regular expressions matched against variable names.
      beta_1, beta_2, epsilon: Adam's parameters (BERT: 0.9, 0.999, 1e-6).
      global_clipnorm: clip the gradients (summed over replicas) to this global norm;
        None = no clipping.
    """

    learning_rate: float = 1e-4
    warmup_steps: int = 10_000
    decay_steps: int | None = None
    end_learning_rate: float = 0.0
    power: float = 1.0
    weight_decay: float = 0.01
    exclude_from_weight_decay: tuple[str, ...] = ("layer_norm", "LayerNorm", "bias")
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-6
    global_clipnorm: float | None = 1.0

    def __post_init__(self):
        owner = "OptimizerConfig"
        check_number(owner, "learning_rate", self.learning_rate, 0.0)
        check_int(owner, "warmup_steps", self.warmup_steps, 0)
        if self.decay_steps is not None:
            check_int(owner, "decay_steps", self.decay_steps, 1)
        check_number(owner, "end_learning_rate", self.end_learning_rate, 0.0)
        check_number(owner, "power", self.power, 0.0)
        check_number(owner, "weight_decay", self.weight_decay, 0.0)
        check_number(owner, "beta_1", self.beta_1, 0.0, 1.0, high_open=True)
        check_number(owner, "beta_2", self.beta_2, 0.0, 1.0, high_open=True)
        check_number(owner, "epsilon", self.epsilon, 0.0)
        if self.global_clipnorm is not None:
            check_number(owner, "global_clipnorm", self.global_clipnorm, 0.0)
        object.__setattr__(self, "exclude_from_weight_decay", tuple(self.exclude_from_weight_decay))


@dataclasses.dataclass(frozen=True)
class TrainerConfig:
    """The training loop: length, loop size on the device, checkpoints, validation, logs.

    Every interval counts optimizer steps. A loop runs `steps_per_loop` steps on the device
    in one `tf.function` call, shortened so that it ends exactly on the next summary,
    validation or checkpoint step and on `train_steps`.

    Attributes:
      train_steps: total optimizer steps of the run (a resumed run continues up to it).
      steps_per_loop: steps per device loop (host round trip); larger is faster on TPUs.
      checkpoint_interval: save a checkpoint every this many steps (and at the end).
      max_to_keep: checkpoints kept (older ones are deleted).
      summary_interval: write TensorBoard summaries and a progress line this often.
      validation_interval: validate every this many steps (and at the end); 0 = only at
        the end.
      validation_steps: batches per validation; None = the whole validation split.
      jit_compile: compile the per-replica train step with XLA (CPU/GPU; TPUs always
        compile).
      optimizer: the optimizer and learning-rate schedule.
    """

    train_steps: int = 1000
    steps_per_loop: int = 100
    checkpoint_interval: int = 1000
    max_to_keep: int = 5
    summary_interval: int = 100
    validation_interval: int = 0
    validation_steps: int | None = None
    jit_compile: bool = False
    optimizer: OptimizerConfig = dataclasses.field(default_factory=OptimizerConfig)

    def __post_init__(self):
        owner = "TrainerConfig"
        check_int(owner, "train_steps", self.train_steps, 1)
        for name in ("steps_per_loop", "checkpoint_interval", "max_to_keep", "summary_interval"):
            check_int(owner, name, getattr(self, name), 1)
        check_int(owner, "validation_interval", self.validation_interval, 0)
        if self.validation_steps is not None:
            check_int(owner, "validation_steps", self.validation_steps, 1)
        if not isinstance(self.jit_compile, bool):
            raise BertpipeError(
                f"TrainerConfig.jit_compile must be true or false; got {self.jit_compile!r}."
            )


@dataclasses.dataclass(frozen=True)
class RuntimeConfig:
    """Where the run executes: distribution strategy, TPU address, numeric precision.

    Attributes:
      distribution_strategy: `auto` (a TPU if one is found, multi-worker when TF_CONFIG
        names more than one worker, mirrored over several GPUs, else the default
        strategy), or one of `tpu`, `multi_worker_mirrored`, `mirrored`, `one_device`,
        `default`. An explicit choice that cannot be built fails instead of falling back.
      tpu: the TPU to use: `local` (a TPU VM or a GKE TPU node: the chips of this host),
        a TPU name, or a `grpc://` address. Empty = `local`.
      mixed_precision_dtype: `auto` (bfloat16 on TPUs, float32 elsewhere), `float32`,
        `bfloat16` (mixed: variables float32, compute bfloat16) or `float16` (mixed, with
        dynamic loss scaling; GPUs).
      seed: seeds TensorFlow's global random generator (weight initialisation, dropout);
        None = random.
    """

    distribution_strategy: Strategy = "auto"
    tpu: str = ""
    mixed_precision_dtype: Precision = "auto"
    seed: int | None = None

    def __post_init__(self):
        if self.distribution_strategy not in STRATEGIES:
            raise BertpipeError(
                f"RuntimeConfig.distribution_strategy must be one of {list(STRATEGIES)}; got "
                f"{self.distribution_strategy!r}."
            )
        if self.mixed_precision_dtype not in ("auto", "float32", "bfloat16", "float16"):
            raise BertpipeError(
                "RuntimeConfig.mixed_precision_dtype must be one of auto, float32, bfloat16, "
                f"float16; got {self.mixed_precision_dtype!r}."
            )
        if not isinstance(self.tpu, str):
            raise BertpipeError(f"RuntimeConfig.tpu must be a string; got {self.tpu!r}.")
        if self.seed is not None:
            check_int("RuntimeConfig", "seed", self.seed, 0)


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """One training run: the task, the trainer loop and the runtime.

    Attributes:
      task: the masked-LM task (data, model, warm start).
      trainer: the loop, checkpoints, validation, optimizer.
      runtime: distribution strategy, TPU, precision.
    """

    task: MaskedLMConfig = dataclasses.field(default_factory=MaskedLMConfig)
    trainer: TrainerConfig = dataclasses.field(default_factory=TrainerConfig)
    runtime: RuntimeConfig = dataclasses.field(default_factory=RuntimeConfig)

    def __post_init__(self):
        for name, cls in (
            ("task", MaskedLMConfig),
            ("trainer", TrainerConfig),
            ("runtime", RuntimeConfig),
        ):
            if not isinstance(getattr(self, name), cls):
                raise BertpipeError(
                    f"ExperimentConfig.{name} must be a {cls.__name__}; got "
                    f"{type(getattr(self, name)).__name__}."
                )
