"""`pusher(...)`: the standard TFX Pusher, gated on a blessing, with the versioned executor."""

from __future__ import annotations

from tfx import v1 as tfx
from tfx.dsl.components.base import executor_spec

from components.pusher import executor
from components.pusher.spec import (
    CUSTOM_CONFIG_KEY,
    HUGGINGFACE_KEY,
    MODEL_BLESSING_KEY,
    MODEL_KEY,
    PUSH_DESTINATION_KEY,
)


def pusher(
    model, model_blessing, base_directory: str, *, huggingface: bool = False
) -> tfx.components.Pusher:
    """The Pusher node for the pipeline builder.

    Args:
      model: the Trainer's `model` output channel.
      model_blessing: the `MaskedLMEvaluator`'s `blessing` output channel; nothing is
        pushed unless it says `blessed` = 1.
      base_directory: the push destination (local directory or gs://...); versions go to
        `<base_directory>/<version>/`, and the evaluator's `baseline_push_destination`
        should name the same directory.
      huggingface: also write the Hugging Face format into each version, as
        `<version>/huggingface/` (config.json, model.safetensors, tokenizer files).
    """
    destination = tfx.proto.PushDestination(
        filesystem=tfx.proto.PushDestination.Filesystem(base_directory=base_directory)
    )
    return tfx.components.Pusher(
        **{
            MODEL_KEY: model,
            MODEL_BLESSING_KEY: model_blessing,
            PUSH_DESTINATION_KEY: destination,
            CUSTOM_CONFIG_KEY: {HUGGINGFACE_KEY: True} if huggingface else None,
        },
        custom_executor_spec=executor_spec.ExecutorClassSpec(executor.Executor),
    )
