"""Pusher with custom_config {"huggingface": true}: each version also holds huggingface/."""

import json
import os

import pytest
from tfx.types import standard_artifacts
from tfx.utils import proto_utils
from tfx.v1 import proto

from components.pusher import executor, versions
from components.pusher.spec import (
    CUSTOM_CONFIG_KEY,
    HUGGINGFACE_KEY,
    MODEL_BLESSING_KEY,
    MODEL_KEY,
    PUSH_DESTINATION_KEY,
    PUSHED_MODEL_KEY,
)


def test_huggingface_format_is_pushed_inside_the_complete_version(masked_lm_exports, tmp_path):
    transformers = pytest.importorskip("transformers")
    model = standard_artifacts.Model()
    model.uri = masked_lm_exports.good_uri
    blessing = standard_artifacts.ModelBlessing()
    blessing.uri = str(tmp_path / "blessing")
    blessing.set_int_custom_property("blessed", 1)
    pushed = standard_artifacts.PushedModel()
    pushed.uri = str(tmp_path / "pushed")
    base = str(tmp_path / "serving")
    destination = proto.PushDestination(
        filesystem=proto.PushDestination.Filesystem(base_directory=base)
    )
    executor.Executor().Do(
        {MODEL_KEY: [model], MODEL_BLESSING_KEY: [blessing]},
        {PUSHED_MODEL_KEY: [pushed]},
        {
            PUSH_DESTINATION_KEY: proto_utils.proto_to_json(destination),
            CUSTOM_CONFIG_KEY: json.dumps({HUGGINGFACE_KEY: True}),
        },
    )
    path = pushed.get_string_custom_property("pushed_destination")
    assert versions.check_complete(path) is None
    with open(os.path.join(path, versions.MANIFEST)) as f:
        listed = json.load(f)["files"]
    hf_files = sorted(k for k in listed if k.startswith("huggingface/"))
    assert hf_files == [
        "huggingface/config.json",
        "huggingface/model.safetensors",
        "huggingface/special_tokens_map.json",
        "huggingface/tokenizer_config.json",
        "huggingface/vocab.txt",
    ]
    loaded, info = transformers.TFAutoModelForMaskedLM.from_pretrained(
        os.path.join(path, "huggingface"), output_loading_info=True
    )
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
