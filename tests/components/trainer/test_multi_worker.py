"""Two local worker processes train bert/tiny under MultiWorkerMirroredStrategy.

Each runs multi_worker_train.py with TF_CONFIG naming both (127.0.0.1, free ports); `auto`
must pick the multi-worker strategy with 2 replicas, both must end at the requested step
with identical weights, and only the chief writes the shared checkpoints.
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from tests.components.trainer.examples_dir import write_examples_dir
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_end_with_identical_weights(tmp_path):
    examples = write_examples_dir(str(tmp_path / "examples"))
    model_dir = str(tmp_path / "run")
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    script = os.path.join(os.path.dirname(__file__), "multi_worker_train.py")
    processes = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = dict(
            os.environ,
            TF_CONFIG=json.dumps(tf_config),
            PYTHONPATH=str(REPO_ROOT),
            TF_CPP_MIN_LOG_LEVEL="3",
        )
        output = str(tmp_path / f"worker{index}.npz")
        processes.append(
            subprocess.Popen(
                [sys.executable, script, examples, model_dir, output],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    try:
        logs = [process.communicate(timeout=600)[0] for process in processes]
    finally:  # A timeout or an error here: stop the workers this test started.
        for process in processes:
            if process.poll() is None:
                process.kill()
    for process, log in zip(processes, logs):
        assert process.returncode == 0, log[-4000:]

    chief, worker = (np.load(tmp_path / f"worker{i}.npz") for i in range(2))
    for result in (chief, worker):
        assert str(result["strategy"]) == "CollectiveAllReduceStrategy"
        assert int(result["replicas"]) == 2
        assert int(result["step"]) == 12
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
