"""Runs one MaskedLMTask train step on 2 replicas and on 1; prints the differences as JSON.

Run in its own process by test_replica_scaling.py: the two logical CPU devices that
MirroredStrategy needs must be configured before TensorFlow initialises.

Both runs start from the same weights and see the same per-replica batch (each of the two
replicas gets that batch), with plain SGD. If the task divides the loss by the number of
replicas, the two updates are equal; without the scaling the mirrored update is doubled.
"""

import json
import sys
import tempfile

import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)

import tf_keras  # noqa: E402

from components.trainer.tasks.masked_lm import MaskedLMTask  # noqa: E402
from tests.components.trainer import records  # noqa: E402
from tests.components.trainer.tasks.conftest import SCHEMA, VOCAB, tiny_config  # noqa: E402


def main():
    root = tempfile.mkdtemp()
    records_ = records.make_records(SCHEMA, 8, vocab_size=VOCAB)
    pattern = records.write_split(root, "train", SCHEMA, records_)
    task = MaskedLMTask(tiny_config(pattern, batch_size=4, dropout=0.0))
    batch = next(iter(task.build_inputs(task.config.validation_data)))

    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with mirrored.scope():
        model = task.build_model()
        optimizer = tf_keras.optimizers.SGD(1.0)
        metrics = task.build_metrics()
    single_model = task.build_model()
    single_model.set_weights(model.get_weights())
    single_optimizer = tf_keras.optimizers.SGD(1.0)
    single_metrics = task.build_metrics()
    initial = [w.copy() for w in model.get_weights()]

    replica_batches = mirrored.experimental_distribute_values_from_function(lambda _: batch)

    @tf.function
    def mirrored_step(inputs):
        logs = mirrored.run(task.train_step, args=(inputs, model, optimizer, metrics))
        return mirrored.reduce("MEAN", logs[task.loss], axis=None)

    loss = mirrored_step(replica_batches)
    single_loss = tf.function(task.train_step)(
        batch, single_model, single_optimizer, single_metrics
    )

    deltas = [a - b for a, b in zip(model.get_weights(), initial)]
    single_deltas = [a - b for a, b in zip(single_model.get_weights(), initial)]
    ratio = sum(np.abs(d).sum() for d in deltas) / sum(np.abs(d).sum() for d in single_deltas)
    json.dump(
        {
            "replicas": mirrored.num_replicas_in_sync,
            "max_weight_difference": max(
                float(np.abs(a - b).max()) for a, b in zip(deltas, single_deltas)
            ),
            "update_ratio": float(ratio),
            "loss": float(loss),
            "single_loss": float(single_loss[task.loss]),
            "metrics": {m.name: float(m.result()) for m in metrics},
            "single_metrics": {m.name: float(m.result()) for m in single_metrics},
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
