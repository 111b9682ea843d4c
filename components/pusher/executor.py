"""A TFX Pusher executor whose filesystem push is versioned and never half written.

It is the standard `tfx.components.Pusher` executor (same blessing gate, same model path,
same `PushedModel` properties `pushed`, `pushed_destination`, `pushed_version`) with the
copy replaced by `versions.publish`: stage, write a manifest, move into place (see
`versions.py` for why TFX 1.16's in-place copy is not enough for these exports).

With `custom_config` {"huggingface": true} each version also holds `huggingface/`, the
model in Hugging Face `transformers` format (`components/convert/convert.py`), written
into the staging copy so the manifest covers it and it appears with the version.
"""

from __future__ import annotations

from typing import Any

from tfx import types
from tfx.components.pusher import executor as tfx_pusher_executor
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils
from tfx.utils import io_utils, proto_utils

from components.errors import BertpipeError
from components.pusher import versions
from components.pusher.spec import (
    CUSTOM_CONFIG_KEY,
    HUGGINGFACE_KEY,
    PUSH_DESTINATION_KEY,
    PUSHED_MODEL_KEY,
)


class Executor(tfx_pusher_executor.Executor):
    """Pushes a blessed model to `<base_directory>/<version>/` through a staging copy."""

    def Do(
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        pushed = artifact_utils.get_single_instance(output_dict[PUSHED_MODEL_KEY])
        if not self.CheckBlessing(input_dict):
            self._MarkNotPushed(pushed)
            return
        model_path = self.GetModelPath(input_dict)
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(exec_properties[PUSH_DESTINATION_KEY], destination)
        if not destination.filesystem.base_directory:
            raise BertpipeError(
                "the bertpipe Pusher pushes to a filesystem destination only (local "
                "directory or gs://); set push_destination.filesystem.base_directory."
            )
        versioning = destination.filesystem.versioning
        if versioning not in (pusher_pb2.Versioning.AUTO, pusher_pb2.Versioning.UNIX_TIMESTAMP):
            raise BertpipeError(
                f"push versioning {pusher_pb2.Versioning.Name(versioning)} is not supported; "
                "use AUTO or UNIX_TIMESTAMP."
            )
        version, path = versions.publish(
            model_path,
            destination.filesystem.base_directory,
            add_files=_extra_formats(model_path, exec_properties),
        )
        # Like TFX's Pusher: archive the pushed model in the PushedModel artifact.
        io_utils.copy_dir(model_path, pushed.uri)
        self._MarkPushed(pushed, pushed_destination=path, pushed_version=version)


HUGGINGFACE_DIR = "huggingface"


def _extra_formats(model_path: str, exec_properties: dict[str, Any]):
    """The `publish(add_files=...)` hook for the formats `custom_config` asks for."""
    import json

    custom = json.loads(exec_properties.get(CUSTOM_CONFIG_KEY) or "null")
    if not (custom or {}).get(HUGGINGFACE_KEY):
        return None

    def add_huggingface(staging: str) -> None:
        from components.convert import convert

        convert.to_huggingface(model_path, f"{staging.rstrip('/')}/{HUGGINGFACE_DIR}")

    return add_huggingface
