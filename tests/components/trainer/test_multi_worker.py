"""Two local worker processes train bert/tiny under MultiWorkerMirroredStrategy.

Each runs multi_worker_train.py with TF_CONFIG naming both (127.0.0.1, free ports); `auto`
must pick the multi-worker strategy with 2 replicas, both must end at the requested step
with identical weights, and only the chief writes the shared checkpoints.

Preemption: SIGTERM to one worker (the non-chief) must make *both* save one checkpoint at
the same step and exit 143; started again, both resume from it and end at the requested
step with the weights of the uninterrupted run (same seeds; the resumed run continues the
seeded data order where the signal stopped it).
"""

import glob
import json
import os
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.components.trainer.examples_dir import write_examples_dir
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

SCRIPT = os.path.join(os.path.dirname(__file__), "multi_worker_train.py")
STEPS = 12


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _start_workers(examples, model_dir, outputs, extra=()):
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = dict(
            os.environ,
            TF_CONFIG=json.dumps(tf_config),
            PYTHONPATH=str(REPO_ROOT),
            TF_CPP_MIN_LOG_LEVEL="3",
        )
        command = [sys.executable, SCRIPT, examples, model_dir, str(outputs[index]), *extra]
        processes.append(
            subprocess.Popen(
                command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
        )
    return processes


def _finish(processes, before=("", "")):
    try:
        logs = [process.communicate(timeout=600)[0] for process in processes]
    finally:  # A timeout or an error here: stop the workers this test started.
        for process in processes:
            if process.poll() is None:
                process.kill()
    return [first + rest for first, rest in zip(before, logs)]


def _checkpoint_steps(model_dir):
    return sorted(
        int(p.rsplit("-", 1)[1].split(".")[0])
        for p in glob.glob(f"{model_dir}/checkpoints/ckpt-*.index")
    )


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    return write_examples_dir(str(tmp_path_factory.mktemp("multi_worker") / "examples"))


@pytest.fixture(scope="module")
def uninterrupted(examples, tmp_path_factory):
    root = tmp_path_factory.mktemp("uninterrupted")
    model_dir = str(root / "run")
    outputs = [root / f"worker{i}.npz" for i in range(2)]
    processes = _start_workers(examples, model_dir, outputs)
    for process, log in zip(processes, _finish(processes)):
        assert process.returncode == 0, log[-4000:]
    return model_dir, [np.load(path) for path in outputs]


def test_two_workers_end_with_identical_weights(uninterrupted):
    model_dir, (chief, worker) = uninterrupted
    for result in (chief, worker):
        assert str(result["strategy"]) == "CollectiveAllReduceStrategy"
        assert int(result["replicas"]) == 2
        assert int(result["step"]) == STEPS
    assert bool(chief["chief"]) and not bool(worker["chief"])
    weights = [k for k in chief.files if k.startswith("weight_")]
    assert len(weights) == 38
    for name in weights:
        np.testing.assert_array_equal(chief[name], worker[name], err_msg=name)
    assert float(chief["validation"]) == float(worker["validation"])
    files = sorted(os.listdir(os.path.join(model_dir, "checkpoints")))
    assert files == [
        "checkpoint",
        "ckpt-12.data-00000-of-00001",
        "ckpt-12.index",
        "ckpt-8.data-00000-of-00001",
        "ckpt-8.index",
    ]


def test_sigterm_to_one_worker_checkpoints_both_at_one_step_and_resumes_to_the_same_weights(
    examples, uninterrupted, tmp_path
):
    reference_dir, (reference, _) = uninterrupted
    model_dir = str(tmp_path / "run")
    outputs = [tmp_path / f"worker{i}.npz" for i in range(2)]
    # One step per loop, a progress line per step, no periodic checkpoint before the end.
    extra = ["trainer.steps_per_loop=1", "trainer.summary_interval=1"]
    extra += [f"trainer.checkpoint_interval={STEPS}"]
    processes = _start_workers(examples, model_dir, outputs, extra)
    seen = []
    for line in processes[1].stdout:  # the non-chief worker's log
        seen.append(line)
        if f" step 2/{STEPS} " in line:
            processes[1].send_signal(signal.SIGTERM)
            break
    logs = _finish(processes, before=("", "".join(seen)))
    for process, log in zip(processes, logs):
        assert process.returncode == 143, log[-4000:]
    steps = _checkpoint_steps(model_dir)
    assert len(steps) == 1 and 2 <= steps[0] < STEPS, (steps, logs[1][-3000:])
    for log in logs:  # the chief got no signal, yet saved at the same step
        assert f"SIGTERM: checkpoint at step {steps[0]} saved; stopping" in log
    assert not glob.glob(f"{model_dir}/checkpoints/.worker-*")
    assert not any(path.exists() for path in outputs)

    processes = _start_workers(examples, model_dir, outputs, extra)  # Same settings.
    logs = _finish(processes)
    for process, log in zip(processes, logs):
        assert process.returncode == 0, log[-4000:]
        assert f"training continues from step {steps[0]}" in log
    chief, worker = (np.load(path) for path in outputs)
    assert int(chief["step"]) == int(worker["step"]) == STEPS
    assert _checkpoint_steps(model_dir) == [steps[0], STEPS]
    weights = [k for k in reference.files if k.startswith("weight_")]
    for name in weights:
        np.testing.assert_array_equal(chief[name], worker[name], err_msg=name)
    for name in weights:  # Loops of 1 step vs 4: float sums may differ in the last bits.
        np.testing.assert_allclose(chief[name], reference[name], rtol=1e-4, atol=1e-6)
    optimizer_step = "optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"
    final = tf.train.load_checkpoint(os.path.join(model_dir, "checkpoints"))
    expected = tf.train.load_checkpoint(os.path.join(reference_dir, "checkpoints"))
    assert final.get_tensor(optimizer_step) == expected.get_tensor(optimizer_step) == STEPS
