"""`bertpipe train` end to end on examples from the example generator: loss falls, the
export loads in a fresh process, and a run killed with SIGKILL after a checkpoint, or
preempted with SIGTERM between checkpoints, resumes to exactly the requested step with its
optimizer state (it ends where an uninterrupted run ends).

Every batch holds the whole training split and dropout is off, so an uninterrupted run
and a killed-and-resumed one compute the same updates, up to floating-point summation
order, if and only if the resumed run restored the weights, the Adam moments and the step
(which drives the learning-rate schedule).
"""

import glob
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from pipelines import cli
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

STEPS = 40
PARAMS = [
    f"trainer.train_steps={STEPS}",
    "trainer.steps_per_loop=5",
    "trainer.checkpoint_interval=5",
    "trainer.summary_interval=5",
    "trainer.max_to_keep=100",
    "trainer.optimizer.warmup_steps=5",
    "task.model.dropout_rate=0.0",
    "task.model.attention_dropout_rate=0.0",
    "task.train_data.shuffle_buffer_size=1",
    "task.train_data.seed=1",
    "task.validation_data.global_batch_size=8",
    "runtime.seed=1",
]


def _args(examples, model_dir, extra=()):
    args = ["train", "--experiment", "bert/tiny", "--examples", examples.root]
    args += ["--model-dir", model_dir]
    # One batch = the whole training split (its records in any order).
    batch = f"task.train_data.global_batch_size={examples.train_examples}"
    for param in [*PARAMS, batch, *extra]:
        args += ["--param", param]
    return args


def _start(examples, model_dir, extra=()):
    args = _args(examples, model_dir, extra)
    code = f"import sys; from pipelines.cli import main; sys.exit(main({args!r}))"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory, generated_examples):
    """An uninterrupted run, in this process."""
    model_dir = str(tmp_path_factory.mktemp("train_command") / "reference")
    assert cli.main(_args(generated_examples, model_dir)) == 0
    return generated_examples, model_dir


def _losses(summary_dir):
    losses = {}
    for path in glob.glob(os.path.join(summary_dir, "train", "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag == "loss":
                    losses[event.step] = float(tf.make_ndarray(value.tensor))
    return [losses[step] for step in sorted(losses)]


def test_training_loss_falls(reference):
    _, model_dir = reference
    losses = _losses(os.path.join(model_dir, "summaries"))
    assert len(losses) == STEPS // 5
    assert all(later < earlier for earlier, later in zip(losses, losses[1:])), losses
    assert losses[-1] < 0.8 * losses[0], losses


def test_export_loads_in_a_fresh_process_with_the_documented_shapes(reference):
    examples, model_dir = reference
    with open(os.path.join(examples.root, "example_gen_config.json")) as f:
        config = json.load(f)
    seq, pred = config["seq_length"], config["max_predictions_per_seq"]
    with open(os.path.join(examples.root, "vocab.txt")) as f:
        vocab_size = len(f.read().splitlines())
    code = (
        "import json, sys, numpy as np, tensorflow as tf\n"
        # The export's fill_mask signature tokenizes in-graph with tensorflow-text ops.
        "import tensorflow_text\n"
        f"m = tf.saved_model.load({os.path.join(model_dir, 'export')!r})\n"
        "s = m.signatures['serving_default']\n"
        f"ids = tf.constant(np.full([2, {seq}], 7), tf.int64)\n"
        f"pos = tf.constant(np.ones([2, {pred}]), tf.int64)\n"
        "out = s(input_ids=ids, input_mask=tf.ones_like(ids), segment_ids=tf.zeros_like(ids),"
        " masked_lm_positions=pos)\n"
        "lp = out['masked_lm_log_probs'].numpy()\n"
        "print(json.dumps({k: [list(v.shape), v.dtype.name] for k, v in out.items()} | "
        "{'prob_sum': float(np.exp(lp).sum(-1).mean())}))\n"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["masked_lm_log_probs"] == [[2, pred, vocab_size], "float32"]
    assert result["next_sentence_logits"] == [[2, 2], "float32"]
    assert result["prob_sum"] == pytest.approx(1.0, abs=1e-4)


def _checkpoint(directory):
    reader = tf.train.load_checkpoint(directory)
    return {
        name: reader.get_tensor(name)
        for name in reader.get_variable_to_shape_map()
        if name != "save_counter/.ATTRIBUTES/VARIABLE_VALUE" and not name.startswith("_")
    }


def _checkpoint_steps(model_dir):
    return sorted(
        int(p.rsplit("-", 1)[1].split(".")[0])
        for p in glob.glob(f"{model_dir}/checkpoints/ckpt-*.index")
    )


def _assert_ends_as_the_reference(model_dir, reference_dir):
    assert _checkpoint_steps(model_dir)[-1] == STEPS  # ends at the requested step
    resumed = _checkpoint(os.path.join(model_dir, "checkpoints"))
    expected = _checkpoint(os.path.join(reference_dir, "checkpoints"))
    assert resumed.keys() == expected.keys()
    assert resumed["optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"] == STEPS
    for name, value in expected.items():
        np.testing.assert_allclose(resumed[name], value, rtol=1e-4, atol=1e-6, err_msg=name)


def test_a_preempted_run_checkpoints_at_the_signal_and_resumes_to_the_same_weights(
    reference, tmp_path
):
    examples, reference_dir = reference
    model_dir = str(tmp_path / "preempted")
    # No periodic checkpoint before the end: only the SIGTERM one can be resumed from.
    first = _start(examples, model_dir, [f"trainer.checkpoint_interval={STEPS}"])
    lines = []
    for line in first.stderr:  # progress lines: "HH:MM:SS step 10/40  loss ..."
        lines.append(line)
        if " step 10/40 " in line:
            first.send_signal(signal.SIGTERM)
            break
    _, rest = first.communicate(timeout=120)
    stderr = "".join(lines) + rest
    assert first.returncode == 143, stderr[-3000:]
    steps = _checkpoint_steps(model_dir)
    assert len(steps) == 1 and 10 <= steps[0] < STEPS, (steps, stderr[-3000:])
    last = stderr.strip().splitlines()[-1]
    assert last.startswith(f"bertpipe: preempted (SIGTERM): checkpoint saved at step {steps[0]}")
    assert "Traceback" not in stderr
    assert not os.path.exists(os.path.join(model_dir, "export"))

    second = _start(examples, model_dir)
    _, stderr = second.communicate(timeout=600)
    assert second.returncode == 0, stderr[-3000:]
    assert f"training continues from step {steps[0]}" in stderr
    _assert_ends_as_the_reference(model_dir, reference_dir)


def test_a_killed_run_resumes_to_exactly_the_requested_step_with_its_optimizer_state(
    reference, tmp_path
):
    examples, reference_dir = reference
    model_dir = str(tmp_path / "killed")
    state = os.path.join(model_dir, "checkpoints", "checkpoint")
    first = _start(examples, model_dir)
    deadline = time.monotonic() + 240
    while not os.path.exists(state) and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    _, stderr = first.communicate(timeout=60)
    assert first.returncode == -signal.SIGKILL, stderr[-3000:]
    killed_at = int(tf.train.latest_checkpoint(os.path.dirname(state)).rsplit("-", 1)[1])
    assert 0 < killed_at < STEPS

    second = _start(examples, model_dir)
    _, stderr = second.communicate(timeout=600)
    assert second.returncode == 0, stderr[-3000:]
    assert f"training continues from step {killed_at}" in stderr
    assert "training starts at step 0" not in stderr

    steps = sorted(
        int(p.rsplit("-", 1)[1].split(".")[0])
        for p in glob.glob(f"{model_dir}/checkpoints/ckpt-*.index")
    )
    assert steps[-1] == STEPS  # ends at the requested step, no step beyond
    resumed = _checkpoint(os.path.join(model_dir, "checkpoints"))
    expected = _checkpoint(os.path.join(reference_dir, "checkpoints"))
    assert resumed.keys() == expected.keys()
    assert resumed["optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"] == STEPS
    slots = [k for k in expected if k.startswith("optimizer/_variables/")]
    assert len(slots) == 2 * len([k for k in expected if k.startswith("model/")])  # m and v
    for name, value in expected.items():
        np.testing.assert_allclose(resumed[name], value, rtol=1e-4, atol=1e-6, err_msg=name)
