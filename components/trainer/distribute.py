"""Choosing and building the `tf.distribute` strategy and the mixed-precision policy.

`auto` picks, in order: a TPU when this host has one (or `runtime.tpu` names a remote
one), `MultiWorkerMirroredStrategy` when `TF_CONFIG` names more than one task, a
`MirroredStrategy` over several GPUs, else the default strategy (one GPU or the CPU). The
TPU check is cheap and safe where there is none: it looks for the TPU device files of TPU
VMs and GKE TPU nodes (`/dev/accel*`, `/dev/vfio/<n>`) and the variables GKE/Vertex set
(`TPU_ACCELERATOR_TYPE`, `TPU_NAME`) before it touches `TPUClusterResolver`, which would
otherwise try to reach a metadata server. An explicitly requested strategy that cannot be
built (e.g. `tpu` with no TPU) raises `BertpipeError`; it never falls back to one device.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
from collections.abc import Iterator

import tensorflow as tf
import tf_keras

from components.errors import BertpipeError
from components.trainer.experiment import RuntimeConfig

_log = logging.getLogger(__name__)

_TPU_ENV = ("TPU_ACCELERATOR_TYPE", "TPU_NAME")


def tpu_present(environ=os.environ) -> bool:
    """Whether this host has TPU chips (TPU VM / GKE TPU node), without initialising them."""
    if any(environ.get(name) for name in _TPU_ENV):
        return True
    # v2-v4 chips appear as /dev/accel<n>; v5e/v5p/v6e as VFIO groups /dev/vfio/<n>.
    return bool(glob.glob("/dev/accel[0-9]*") or glob.glob("/dev/vfio/[0-9]*"))


def cluster_size(environ=os.environ) -> int:
    """Tasks (chief + workers) that TF_CONFIG names; 1 without TF_CONFIG.

    Raises:
      BertpipeError: TF_CONFIG is not valid JSON.
    """
    raw = environ.get("TF_CONFIG")
    if not raw:
        return 1
    try:
        cluster = json.loads(raw).get("cluster", {})
    except (ValueError, AttributeError):
        raise BertpipeError(f"TF_CONFIG is not a JSON object: {raw[:200]!r}") from None
    return sum(len(cluster.get(kind, [])) for kind in ("chief", "worker"))


def choose_strategy(runtime: RuntimeConfig, environ=os.environ) -> str:
    """The strategy `runtime.distribution_strategy` resolves to on this host."""
    choice = runtime.distribution_strategy
    if choice != "auto":
        return choice
    if (runtime.tpu and runtime.tpu != "local") or tpu_present(environ):
        return "tpu"
    if cluster_size(environ) > 1:
        return "multi_worker_mirrored"
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return "mirrored"
    return "default"


def build_strategy(runtime: RuntimeConfig, environ=os.environ) -> tf.distribute.Strategy:
    """Builds the strategy for `runtime` and logs what was chosen and its replicas.

    Raises:
      BertpipeError: the requested strategy cannot be built here.
    """
    name = choose_strategy(runtime, environ)
    if name == "tpu":
        strategy = _tpu_strategy(runtime.tpu or "local", environ)
    elif name == "multi_worker_mirrored":
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    elif name == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
    elif name == "one_device":
        gpus = tf.config.list_logical_devices("GPU")
        strategy = tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    else:
        strategy = tf.distribute.get_strategy()
    how = "auto: " if runtime.distribution_strategy == "auto" else ""
    _log.info(
        "distribution strategy: %s (%s%s), %d replica(s) in sync",
        type(strategy).__name__,
        how,
        name,
        strategy.num_replicas_in_sync,
    )
    return strategy


def _tpu_strategy(address: str, environ) -> tf.distribute.TPUStrategy:
    """A TPUStrategy on `address` ('local' = this host's chips), initialised."""
    if address == "local" and not tpu_present(environ):
        raise BertpipeError(
            "distribution_strategy 'tpu' was requested, but this host has no TPU (no "
            "/dev/accel* or /dev/vfio/<n> device, TPU_ACCELERATOR_TYPE unset). Run on a TPU "
            "VM or GKE TPU node, set runtime.tpu to a remote TPU's name or grpc:// address, "
            "or choose another runtime.distribution_strategy (auto picks what is here)."
        )
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address)
        if address != "local":
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    except (ValueError, tf.errors.OpError) as e:
        raise BertpipeError(
            f"distribution_strategy 'tpu' was requested, but the TPU {address!r} could not "
            f"be initialised: {e}"
        ) from None


def is_tpu(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, tf.distribute.TPUStrategy)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run's shared outputs (checkpoints, summaries)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None:
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    if task_type in (None, "chief"):
        return True
    # Without a chief, worker 0 plays its part (TF's multi-worker convention).
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "worker" and task_id == 0 and not has_chief


def precision_policy(runtime: RuntimeConfig, strategy: tf.distribute.Strategy) -> str:
    """The tf_keras mixed-precision policy name for `runtime` on `strategy`."""
    dtype = runtime.mixed_precision_dtype
    if dtype == "auto":
        dtype = "bfloat16" if is_tpu(strategy) else "float32"
    return "float32" if dtype == "float32" else f"mixed_{dtype}"


@contextlib.contextmanager
def global_policy(name: str) -> Iterator[None]:
    """Sets tf_keras' global mixed-precision policy for the block, then restores it."""
    previous = tf_keras.mixed_precision.global_policy()
    tf_keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        tf_keras.mixed_precision.set_global_policy(previous)
