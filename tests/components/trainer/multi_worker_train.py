"""One worker of a two-worker bert/tiny run (TF_CONFIG set by test_multi_worker.py).

Usage: multi_worker_train.py EXAMPLES_DIR MODEL_DIR OUTPUT.npz [KEY=VALUE ...]

Resolves the experiment as `bertpipe train --examples` does, trains it through
`train_lib.run_experiment` (the strategy is chosen from TF_CONFIG: multi-worker), and
saves this worker's final weights and step for the test to compare. Extra KEY=VALUE
arguments override PARAMS. On SIGTERM the trainer's `Preempted` (a SystemExit) ends the
process with status 143 and no OUTPUT.
"""

import logging
import sys

import numpy as np

from components.trainer import distribute, examples_metadata, experiments, train_lib

PARAMS = [
    "trainer.train_steps=12",
    "trainer.steps_per_loop=4",
    "trainer.checkpoint_interval=8",
    "trainer.summary_interval=4",
    "trainer.optimizer.warmup_steps=2",
    "task.model.dropout_rate=0.0",
    "task.model.attention_dropout_rate=0.0",
    # Seeded weights and data order, 8 of a worker's 32 records per step (batches cross
    # epochs): a resumed run matches an uninterrupted one only if it continues the data.
    "runtime.seed=1",
    "task.train_data.seed=1",
    "task.train_data.global_batch_size=16",
    "task.validation_data.global_batch_size=8",
    "runtime.distribution_strategy=auto",
]


def main(examples: str, model_dir: str, output: str, *extra: str) -> None:
    logging.basicConfig(level=logging.INFO, format="%(name)s %(message)s")
    loaded = experiments.load_experiment("bert/tiny", params=[*PARAMS, *extra])
    metadata = examples_metadata.read_examples_metadata(examples)
    experiment = examples_metadata.apply_examples_metadata(
        loaded.config, metadata, loaded.user_keys
    )
    experiment = examples_metadata.with_input_paths(
        experiment, [f"{examples}/Split-train/*"], [f"{examples}/Split-eval/*"]
    )
    result = train_lib.run_experiment(
        experiment, checkpoint_dir=f"{model_dir}/checkpoints", summary_dir=f"{model_dir}/tb"
    )
    strategy = result.trainer.strategy
    weights = {f"weight_{i}": w for i, w in enumerate(result.trainer.model.get_weights())}
    np.savez(
        output,
        step=result.step,
        replicas=strategy.num_replicas_in_sync,
        strategy=type(strategy).__name__,
        chief=distribute.is_chief(strategy),
        validation=result.validation_logs.get("total_loss", np.nan),
        **weights,
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
