"""`bertpipe compile` output, for both targets, loads under the newest kfp + kfp-kubernetes.

bertpipe pins kfp 2.5.0 (TFX 1.16 and protobuf 3 hold it there); users and clusters move on.
A separate venv under .cache/newest-kfp/ (python3.11, `pip install kfp kfp-kubernetes`,
newest from PyPI, made once and reused; delete it to take newer releases) runs
newest_kfp_check.py on every compiled example: strict proto parses of the documents and a
load-and-recompile with the newest SDK, which must keep each step's resources and the
Trainer's retry policy as compiled. Skipped, saying so, only when PyPI cannot be reached.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT
from tests.pipelines.runners import compiled, golden

VENV = REPO_ROOT / ".cache" / "newest-kfp"
PYTHON = VENV / "bin" / "python"
CHECKER = REPO_ROOT / "tests" / "pipelines" / "runners" / "newest_kfp_check.py"
_OFFLINE = ("Could not find a version", "No matching distribution", "NewConnectionError",
            "Temporary failure in name resolution", "Network is unreachable")  # fmt: skip


def _newest_kfp_python() -> str:
    if PYTHON.exists():
        return str(PYTHON)
    base = shutil.which("python3.11") or sys.executable
    subprocess.run([base, "-m", "venv", str(VENV)], check=True, timeout=300)
    install = subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "-q", "kfp", "kfp-kubernetes"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if install.returncode != 0:
        shutil.rmtree(VENV, ignore_errors=True)
        if any(sign in install.stderr for sign in _OFFLINE):
            pytest.skip(f"PyPI unreachable, newest kfp not installed: {install.stderr[-300:]}")
        pytest.fail(f"pip install kfp kfp-kubernetes failed: {install.stderr[-2000:]}")
    return str(PYTHON)


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    directory = tmp_path_factory.mktemp("newest-kfp")
    paths = {}
    for case in golden.CASES:
        path = str(directory / case.name)
        result = compiled.bertpipe(*case.args(path))
        assert result.code == 0, result.err
        paths[case.name] = path
    run = subprocess.run(
        [_newest_kfp_python(), str(CHECKER), *paths.values()],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    return paths, report


def test_the_separate_venv_holds_a_newer_kfp_than_the_pin(checked):
    _, report = checked
    newest = tuple(int(p) for p in report["kfp"].split(".")[:2])
    assert newest > (2, 5), report["kfp"]
    assert report["kfp_kubernetes"], report


@pytest.mark.parametrize("case", golden.CASES, ids=lambda case: case.name)
def test_compiled_file_loads_and_recompiles_under_the_newest_kfp(checked, case):
    paths, report = checked
    outcome = report["files"][paths[case.name]]
    assert "error" not in outcome, outcome.get("error")
    spec = compiled.documents(paths[case.name])[0]
    spec = spec.get("pipelineSpec", spec)
    reloaded = outcome["reloaded"]
    retry = {n: t.get("retryPolicy") for n, t in spec["root"]["dag"]["tasks"].items()}
    assert reloaded["retry"] == retry
    executors = spec["deploymentSpec"]["executors"]
    resources = {n: e["container"]["resources"] for n, e in executors.items() if "container" in e}
    assert reloaded["resources"] == resources
