"""The Pusher's keys, shared by component, executor, pipeline and tests.

The Pusher is TFX's standard component (`tfx.components.Pusher`), so its input, output and
parameter keys are TFX's own, from `tfx/types/standard_component_specs.py` (PusherSpec);
they are re-exported here so every bertpipe module spells them one way. The only key of
ours is the one `custom_config` entry the versioned executor reads.
"""

from tfx.types.standard_component_specs import (
    CUSTOM_CONFIG_KEY,
    MODEL_BLESSING_KEY,
    MODEL_KEY,
    PUSH_DESTINATION_KEY,
    PUSHED_MODEL_KEY,
)

# `custom_config` entry: true = also write the Hugging Face format into each version.
HUGGINGFACE_KEY = "huggingface"

__all__ = [
    "CUSTOM_CONFIG_KEY",
    "HUGGINGFACE_KEY",
    "MODEL_BLESSING_KEY",
    "MODEL_KEY",
    "PUSHED_MODEL_KEY",
    "PUSH_DESTINATION_KEY",
]
