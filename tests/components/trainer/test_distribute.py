"""Tests for strategy selection and mixed precision (on this CPU-only host)."""

import json

import pytest
import tensorflow as tf
import tf_keras

from components.errors import BertpipeError
from components.trainer import distribute
from components.trainer.experiment import RuntimeConfig

TWO_WORKERS = json.dumps(
    {
        "cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]},
        "task": {"type": "worker", "index": 0},
    }
)


def test_auto_picks_the_default_strategy_on_one_cpu():
    assert not distribute.tpu_present({})  # This host has no TPU device files.
    assert distribute.choose_strategy(RuntimeConfig(), environ={}) == "default"
    strategy = distribute.build_strategy(RuntimeConfig(), environ={})
    assert strategy.num_replicas_in_sync == 1


def test_auto_picks_multi_worker_when_tf_config_names_two_workers():
    environ = {"TF_CONFIG": TWO_WORKERS}
    assert distribute.cluster_size(environ) == 2
    assert distribute.choose_strategy(RuntimeConfig(), environ=environ) == "multi_worker_mirrored"


def test_auto_picks_a_tpu_when_the_host_reports_one():
    environ = {"TPU_ACCELERATOR_TYPE": "v5litepod-8"}
    assert distribute.choose_strategy(RuntimeConfig(), environ=environ) == "tpu"
    remote = RuntimeConfig(tpu="grpc://10.0.0.2:8470")
    assert distribute.choose_strategy(remote, environ={}) == "tpu"


def test_explicit_tpu_without_a_tpu_fails_instead_of_falling_back():
    runtime = RuntimeConfig(distribution_strategy="tpu")
    with pytest.raises(BertpipeError, match=r"'tpu' was requested, but this host has no TPU"):
        distribute.build_strategy(runtime, environ={})


def test_bad_tf_config_is_reported():
    with pytest.raises(BertpipeError, match="TF_CONFIG is not a JSON object"):
        distribute.cluster_size({"TF_CONFIG": "{workers"})


def test_precision_is_bfloat16_only_on_tpus_under_auto():
    default = tf.distribute.get_strategy()
    assert distribute.precision_policy(RuntimeConfig(), default) == "float32"
    explicit = RuntimeConfig(mixed_precision_dtype="bfloat16")
    assert distribute.precision_policy(explicit, default) == "mixed_bfloat16"


def test_global_policy_is_restored_after_the_block():
    before = tf_keras.mixed_precision.global_policy().name
    with distribute.global_policy("mixed_bfloat16"):
        assert tf_keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    assert tf_keras.mixed_precision.global_policy().name == before


def test_the_only_process_is_the_chief():
    assert distribute.is_chief(tf.distribute.get_strategy())
