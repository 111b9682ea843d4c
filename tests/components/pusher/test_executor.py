"""The Pusher executor: blessed models are pushed whole, others not at all."""

import os

import pytest
from tfx.components.pusher import executor as tfx_pusher_executor
from tfx.types import standard_artifacts
from tfx.utils import proto_utils
from tfx.v1 import proto

from components.pusher import executor, versions
from components.pusher.spec import (
    CUSTOM_CONFIG_KEY,
    MODEL_BLESSING_KEY,
    MODEL_KEY,
    PUSH_DESTINATION_KEY,
    PUSHED_MODEL_KEY,
)
from tests.components.pusher import saved_models


def _artifacts(root, blessed: int):
    model = standard_artifacts.Model()
    model.uri = os.path.join(root, "model")
    saved_models.write_export_like(os.path.join(model.uri, "Format-Serving"), value=7.0)
    blessing = standard_artifacts.ModelBlessing()
    blessing.uri = os.path.join(root, "blessing")
    blessing.set_int_custom_property("blessed", blessed)
    pushed = standard_artifacts.PushedModel()
    pushed.uri = os.path.join(root, "pushed")
    return model, blessing, pushed


def _push(executor_cls, root, base, blessed):
    model, blessing, pushed = _artifacts(root, blessed)
    destination = proto.PushDestination(
        filesystem=proto.PushDestination.Filesystem(base_directory=base)
    )
    executor_cls().Do(
        {MODEL_KEY: [model], MODEL_BLESSING_KEY: [blessing]},
        {PUSHED_MODEL_KEY: [pushed]},
        {PUSH_DESTINATION_KEY: proto_utils.proto_to_json(destination), CUSTOM_CONFIG_KEY: "null"},
    )
    return pushed


def test_a_blessed_model_is_pushed_whole_as_a_new_version(tmp_path):
    base = str(tmp_path / "serving")
    saved_models.write_export_like(os.path.join(base, "1"), value=1.0)
    pushed = _push(executor.Executor, str(tmp_path), base, blessed=1)
    version = pushed.get_string_custom_property("pushed_version")
    assert pushed.get_int_custom_property("pushed") == 1
    assert int(version) > 1
    path = pushed.get_string_custom_property("pushed_destination")
    assert path == os.path.join(base, version)
    assert versions.check_complete(path) is None
    assert os.path.exists(os.path.join(path, "encoder", "saved_model.pb"))
    assert os.path.exists(os.path.join(pushed.uri, "saved_model.pb"))  # the archive copy


def test_an_unblessed_model_is_not_pushed_and_the_served_one_is_untouched(tmp_path):
    base = str(tmp_path / "serving")
    versions.publish(saved_models.write_export_like(str(tmp_path / "old")), base, version=1)
    before = saved_models.snapshot(base)
    pushed = _push(executor.Executor, str(tmp_path), base, blessed=0)
    assert pushed.get_int_custom_property("pushed") == 0
    assert saved_models.snapshot(base) == before


def test_tfx_standard_pusher_would_drop_the_encoder_saved_model(tmp_path):
    # Why bertpipe replaces the copy: TFX 1.16 skips every file matching saved_model\.pb
    # except the top one, so the pushed encoder/ SavedModel would be unloadable.
    pushed = _push(tfx_pusher_executor.Executor, str(tmp_path), str(tmp_path / "std"), 1)
    path = pushed.get_string_custom_property("pushed_destination")
    assert os.path.exists(os.path.join(path, "saved_model.pb"))
    assert not os.path.exists(os.path.join(path, "encoder", "saved_model.pb"))


def test_only_filesystem_destinations_are_supported(tmp_path):
    model, blessing, pushed = _artifacts(str(tmp_path), 1)
    with pytest.raises(ValueError, match="filesystem destination only"):
        executor.Executor().Do(
            {MODEL_KEY: [model], MODEL_BLESSING_KEY: [blessing]},
            {PUSHED_MODEL_KEY: [pushed]},
            {PUSH_DESTINATION_KEY: "{}", CUSTOM_CONFIG_KEY: "null"},
        )
