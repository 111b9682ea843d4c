"""Tests for the training loop: exact step counts, checkpoints, restore, summaries, errors.

One-layer bert/tiny on the example generator's layout (tests/.../examples_dir.py), in
this process. Multi-process runs (kill and resume, multi-worker) are in
test_train_command.py and test_multi_worker.py.
"""

import glob
import logging
import os

import numpy as np
import pytest
import tensorflow as tf

from components.errors import BertpipeError
from components.trainer import distribute, examples_metadata, experiments, train_lib
from components.trainer.experiment import TrainerConfig
from components.trainer.tasks import masked_lm
from tests.components.trainer.examples_dir import write_examples_dir

PARAMS = [
    "task.model.num_layers=1",
    "task.train_data.global_batch_size=16",
    "task.validation_data.global_batch_size=16",
    "trainer.train_steps=7",
    "trainer.steps_per_loop=3",
    "trainer.checkpoint_interval=4",
    "trainer.summary_interval=5",
    "trainer.max_to_keep=10",
    "trainer.optimizer.warmup_steps=2",
    "runtime.seed=1",
]


def _experiment(root, *params):
    loaded = experiments.load_experiment("bert/tiny", params=[*PARAMS, *params])
    metadata = examples_metadata.read_examples_metadata(root)
    experiment = examples_metadata.apply_examples_metadata(
        loaded.config, metadata, loaded.user_keys
    )
    return examples_metadata.with_input_paths(
        experiment, [f"{root}/Split-train/*"], [f"{root}/Split-eval/*"]
    )


def _trainer(experiment, checkpoint_dir):
    strategy = tf.distribute.get_strategy()
    return train_lib.Trainer(experiment, strategy, checkpoint_dir)


def _checkpoint_steps(directory):
    return sorted(
        int(p.split("-")[-1][: -len(".index")]) for p in glob.glob(f"{directory}/ckpt-*.index")
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("train")
    root = write_examples_dir(str(tmp / "examples"))
    experiment = _experiment(root)
    checkpoint_dir, summary_dir = str(tmp / "checkpoints"), str(tmp / "summaries")
    result = train_lib.run_experiment(
        experiment, checkpoint_dir=checkpoint_dir, summary_dir=summary_dir
    )
    return root, result, checkpoint_dir, summary_dir


def test_loop_lengths_end_on_every_boundary_and_on_train_steps():
    trainer = TrainerConfig(
        train_steps=12, steps_per_loop=3, checkpoint_interval=4, summary_interval=5
    )
    step, lengths = 0, []
    while step < trainer.train_steps:
        lengths.append(train_lib.next_loop_length(step, trainer, validate=False))
        step += lengths[-1]
    assert lengths == [3, 1, 1, 3, 2, 2]  # -> 3, 4, 5, 8, 10, 12


def test_run_ends_exactly_at_train_steps_with_checkpoints_at_intervals_and_end(run):
    _, result, checkpoint_dir, _ = run
    assert (result.start_step, result.step) == (0, 7)
    assert int(result.trainer.optimizer.iterations.numpy()) == 7
    assert _checkpoint_steps(checkpoint_dir) == [4, 7]
    assert [step for step, _ in result.loss_history] == [5, 7]
    assert set(result.validation_logs) == {
        masked_lm.MASKED_LM_ACCURACY,
        masked_lm.MASKED_LM_LOSS,
        masked_lm.NEXT_SENTENCE_ACCURACY,
        masked_lm.NEXT_SENTENCE_LOSS,
        masked_lm.TOTAL_LOSS,
    }
    assert result.train_logs["learning_rate"] == pytest.approx(0.0)  # decayed to the end


def _scalar_tags(directory):
    tags = set()
    for path in glob.glob(os.path.join(directory, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    return tags


def test_summaries_hold_loss_learning_rate_throughput_and_every_metric(run):
    _, result, _, summary_dir = run
    metrics = set(result.validation_logs)
    train = _scalar_tags(os.path.join(summary_dir, "train"))
    assert train == {"loss", "learning_rate", "examples_per_second", *metrics}
    assert _scalar_tags(os.path.join(summary_dir, "validation")) == metrics


def test_restart_restores_model_and_optimizer_state_and_continues(run):
    root, first, checkpoint_dir, _ = run
    with distribute.global_policy("float32"):
        trainer = _trainer(_experiment(root, "trainer.train_steps=9"), checkpoint_dir)
        step = trainer.checkpoints.restore_or_initialize(lambda: pytest.fail("initialized"))
        assert step == 7
        for restored, trained in [
            (trainer.model.get_weights(), first.trainer.model.get_weights()),
            (trainer.optimizer.variables, first.trainer.optimizer.variables),
        ]:
            for a, b in zip(restored, trained):
                np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        result = trainer.train()
    assert (result.start_step, result.step) == (7, 9)
    assert _checkpoint_steps(checkpoint_dir) == [4, 7, 8, 9]  # every 4 steps + the end


def test_warm_start_runs_only_when_there_is_no_checkpoint(run, tmp_path):
    root, _, checkpoint_dir, _ = run
    missing = str(tmp_path / "no-such-checkpoint")
    experiment = _experiment(root, f"task.init_checkpoint={missing}")
    with distribute.global_policy("float32"):
        resumed = _trainer(experiment, checkpoint_dir)
        assert (
            resumed.checkpoints.restore_or_initialize(
                lambda: resumed.task.initialize(resumed.model)
            )
            > 0
        )
        fresh = _trainer(experiment, str(tmp_path / "new"))
        with pytest.raises(BertpipeError, match="init_checkpoint .* is not a readable checkpoint"):
            fresh.checkpoints.restore_or_initialize(lambda: fresh.task.initialize(fresh.model))


def test_a_resume_without_a_data_seed_says_it_reads_a_new_order(run, caplog):
    # Unseeded, the reader interleaves and maps out of order: there is no stream to continue.
    root, _, checkpoint_dir, _ = run
    with distribute.global_policy("float32"):
        unseeded = _trainer(_experiment(root), checkpoint_dir)
        seeded = _trainer(_experiment(root, "task.train_data.seed=3"), checkpoint_dir)
        with caplog.at_level(logging.INFO, logger=train_lib.__name__):
            unseeded.train_iterator(0)
            seeded.train_iterator(5)
            assert "new random order" not in caplog.text
            unseeded.train_iterator(5)
    assert "task.train_data.seed is unset: the resumed run reads its data in a new" in caplog.text


def test_a_checkpoint_of_another_model_is_rejected(run):
    root, _, checkpoint_dir, _ = run
    other = _experiment(root, "task.model.hidden_size=64", "task.model.num_attention_heads=1")
    with distribute.global_policy("float32"):
        trainer = _trainer(other, checkpoint_dir)
        with pytest.raises(BertpipeError, match=r"checkpoint .*ckpt-\d+ does not match"):
            trainer.checkpoints.restore_or_initialize(lambda: None)


def _corrupt(path):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    middle = len(data) // 2
    data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
    with open(path, "wb") as f:
        f.write(bytes(data))


def test_a_corrupt_tfrecord_fails_naming_the_file(tmp_path):
    root = write_examples_dir(str(tmp_path / "examples"), train=96)
    bad = sorted(glob.glob(f"{root}/Split-train/*"))[1]
    _corrupt(bad)
    experiment = _experiment(root, "trainer.train_steps=8")
    with pytest.raises(BertpipeError, match=rf"TFRecord file {bad} is corrupt \("):
        train_lib.run_experiment(experiment, checkpoint_dir=str(tmp_path / "checkpoints"))
