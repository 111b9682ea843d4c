"""`bertpipe` as a user starts it: a fresh Python process running the real command line."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT


def run_bertpipe(
    *args: str, env: dict[str, str] | None = None, timeout: float = 900, user_shell: bool = False
) -> subprocess.CompletedProcess:
    """Runs `python -m pipelines.cli ARGS` from the repository root; the finished process.

    Args:
      env: the environment (default: this process's), with PYTHONPATH set to the repo.
      timeout: seconds before the process is killed (and the test fails).
      user_shell: drop PYTHONWARNINGS and TF_CPP_MIN_LOG_LEVEL, which the test
        environment sets and a user's shell does not have (console-output tests).
    """
    env = dict(env or os.environ, PYTHONPATH=str(REPO_ROOT))
    if user_shell:
        for name in ("PYTHONWARNINGS", "TF_CPP_MIN_LOG_LEVEL"):
            env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=timeout,
    )
