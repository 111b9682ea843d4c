"""The optimizer of an experiment: AdamW, warm-up + polynomial decay, global-norm clipping.

`tf_keras.optimizers.AdamW` (Keras 2's optimizer, TF 2.16) already has what BERT needs,
so bertpipe uses it rather than a copy: decoupled weight decay (`var -= lr * wd * var`)
with `exclude_from_weight_decay(var_names=...)` (regular expressions searched in variable
names) and `global_clipnorm`, applied to the gradients after they are summed over
replicas. What it lacks is BERT's learning-rate schedule, `WarmupPolynomialDecay`.
"""

from __future__ import annotations

import tensorflow as tf
import tf_keras

from components.trainer.experiment import OptimizerConfig


class WarmupPolynomialDecay(tf_keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to `learning_rate`, then polynomial decay (BERT's schedule).

    lr(step) = learning_rate * step / warmup_steps                  for step < warmup_steps
             = (learning_rate - end) * (1 - min(step, decay_steps) / decay_steps) ** power
               + end                                                otherwise

    The decay is measured from step 0, as in google-research/bert, so the warm-up replaces
    the start of the decay curve.

    Args:
      learning_rate: the peak learning rate.
      warmup_steps: steps of linear warm-up (0 = none).
      decay_steps: steps over which the rate decays to `end_learning_rate`.
      end_learning_rate: the rate from `decay_steps` on.
      power: the decay's power (1.0 = linear).
    """

    def __init__(
        self,
        learning_rate: float,
        warmup_steps: int,
        decay_steps: int,
        end_learning_rate: float = 0.0,
        power: float = 1.0,
    ):
        super().__init__()
        self.learning_rate = learning_rate
        self.warmup_steps = warmup_steps
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        peak = tf.constant(self.learning_rate, tf.float32)
        end = tf.constant(self.end_learning_rate, tf.float32)
        progress = tf.minimum(step, float(self.decay_steps)) / float(self.decay_steps)
        decayed = (peak - end) * tf.pow(1.0 - progress, self.power) + end
        if self.warmup_steps <= 0:
            return decayed
        warmup = peak * step / float(self.warmup_steps)
        return tf.where(step < float(self.warmup_steps), warmup, decayed)

    def get_config(self):
        return {
            "learning_rate": self.learning_rate,
            "warmup_steps": self.warmup_steps,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
        }


def learning_rate_schedule(config: OptimizerConfig, train_steps: int) -> WarmupPolynomialDecay:
    """The schedule of `config`, decaying over `decay_steps` or else `train_steps`."""
    return WarmupPolynomialDecay(
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup_steps,
        decay_steps=config.decay_steps or train_steps,
        end_learning_rate=config.end_learning_rate,
        power=config.power,
    )


def build_optimizer(
    config: OptimizerConfig,
    schedule: tf_keras.optimizers.schedules.LearningRateSchedule,
    loss_scale: bool = False,
) -> tf_keras.optimizers.Optimizer:
    """AdamW as `config` says, following `schedule`; call inside `strategy.scope()`.

    Args:
      config: the optimizer config.
      schedule: the learning-rate schedule (`learning_rate_schedule(config, steps)`).
      loss_scale: wrap it in a dynamic `LossScaleOptimizer` (float16 mixed precision).
    """
    optimizer = tf_keras.optimizers.AdamW(
        learning_rate=schedule,
        weight_decay=config.weight_decay,
        beta_1=config.beta_1,
        beta_2=config.beta_2,
        epsilon=config.epsilon,
        global_clipnorm=config.global_clipnorm,
    )
    optimizer.exclude_from_weight_decay(var_names=list(config.exclude_from_weight_decay))
    if loss_scale:
        optimizer = tf_keras.mixed_precision.LossScaleOptimizer(optimizer)
    return optimizer
