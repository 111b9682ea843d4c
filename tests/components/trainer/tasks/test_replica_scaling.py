"""The per-replica loss is scaled by the number of replicas (2 logical CPUs, subprocess)."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT


@pytest.mark.slow
def test_mirrored_update_equals_single_replica_update():
    script = os.path.join(os.path.dirname(__file__), "mirrored_step.py")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run(
        [sys.executable, script], env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert result["update_ratio"] == pytest.approx(1.0, abs=1e-4)
    assert result["max_weight_difference"] < 1e-5
    assert result["loss"] == pytest.approx(result["single_loss"], rel=1e-5)
    for name, value in result["single_metrics"].items():
        assert result["metrics"][name] == pytest.approx(value, rel=1e-5), name
