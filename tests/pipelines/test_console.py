"""The quiet console: `bertpipe` prints its own progress, not library warnings or logs,
unless -v is given; errors are never hidden.

The end-to-end check runs the real `bertpipe run` with Beam's multi-process DirectRunner
(as `make run` does), where every worker process imports google-api-core (which warns on
Python 3.10) and Beam forwards each worker's WARN log records to the launching process.
"""

import os
import re
import subprocess
import sys

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.pipelines import tiny_job
from tests.pipelines.cli_process import run_bertpipe

CORPUS = os.path.join(os.path.dirname(__file__), "testdata", "harbour.txt")
# What third-party output looks like: Python warnings, Beam/absl/TFX log records in the
# default logging format, TensorFlow's C++ log lines ("2026-... I tensorflow/...").
NOISE = re.compile(
    r"Warning\b|warnings\.warn|^(DEBUG|INFO|WARNING|ERROR):[\w.]+:|apache_beam|"
    r"^\S+ \S+: [IWEF] (tensorflow|external)/|^[IWEF]\d{4} ",
    re.MULTILINE,
)


def _bertpipe(*args, timeout=900):
    return run_bertpipe(*args, timeout=timeout, user_shell=True)


@pytest.mark.slow
def test_run_prints_no_library_warning_or_log_by_default(tmp_path):
    config = {
        "pipeline_name": "quiet",
        "pipeline_root": str(tmp_path / "root"),
        "corpus": [CORPUS],
        **tiny_job.sections(),
        "beam_pipeline_args": ["--direct_running_mode=multi_processing", "--direct_num_workers=2"],
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config))

    result = _bertpipe("run", "--config", str(path), timeout=1800)

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stderr == ""
    assert NOISE.findall(result.stdout) == []
    for component in ("VocabGen", "MaskedLMExampleGen", "Trainer", "MaskedLMEvaluator"):
        assert re.search(rf"^\[\d\d:\d\d:\d\d\] {component} +complete", result.stdout, re.M)
    assert "blessed: yes" in result.stdout


def test_verbose_brings_library_warnings_and_logs_back():
    quiet = _bertpipe("doctor")
    verbose = _bertpipe("doctor", "--verbose")

    assert (quiet.returncode, verbose.returncode) == (0, 0), quiet.stdout + verbose.stdout
    assert quiet.stderr == ""
    assert quiet.stdout == verbose.stdout  # the command's own report is the same
    # google-api-core's warning on Python 3.10 and TensorFlow's C++ start-up log.
    assert "FutureWarning: You are using a non-supported Python version" in verbose.stderr
    assert re.search(r"^\S+ \S+: I tensorflow/", verbose.stderr, re.M)


def test_quiet_console_hides_library_warnings_but_not_errors():
    code = (
        "import logging, warnings\n"
        "from pipelines import console\n"
        "console.configure(verbose=False)\n"
        "logging.basicConfig()\n"
        "worker = logging.getLogger('apache_beam.runners.portability.local_job_service')\n"
        "worker.warning('Worker: severity: WARN')\n"
        "worker.error('Worker: severity: ERROR')\n"
        "logging.getLogger('absl').warning('absl warning')\n"
        "logging.getLogger('tensorflow').error('tensorflow error')\n"
        "warnings.warn('a library warning', FutureWarning)\n"
        "logging.getLogger('components.trainer').error('bertpipe error')\n"
        "raise RuntimeError('a real failure')\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    env.pop("PYTHONWARNINGS", None)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )

    lines = result.stderr.splitlines()
    assert result.returncode == 1
    assert lines[:3] == [
        "ERROR:apache_beam.runners.portability.local_job_service:Worker: severity: ERROR",
        "ERROR:tensorflow:tensorflow error",
        "ERROR:components.trainer:bertpipe error",
    ]
    assert lines[3] == "Traceback (most recent call last):"
    assert lines[-1] == "RuntimeError: a real failure"
    assert "warning" not in result.stderr.lower()


def test_native_stderr_filter_drops_xla_info_lines_but_not_errors():
    code = (
        "import os, sys\n"
        "from pipelines import console\n"
        "console.configure(verbose=False)\n"
        "console.filter_native_stderr()\n"
        "import tensorflow as tf\n"
        "print(float(tf.function(jit_compile=True)(lambda x: x * 2.0)(tf.constant(1.5))))\n"
        "os.write(2, b'E0000 00:00:1.0 1 native.cc:1] a native error\\n')\n"
        "raise RuntimeError('a real failure')\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    for name in ("PYTHONWARNINGS", "TF_CPP_MIN_LOG_LEVEL"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600
    )

    assert result.returncode == 1
    assert result.stdout == "3.0\n"  # XLA compiled and ran the function
    lines = result.stderr.splitlines()
    assert lines[0] == "E0000 00:00:1.0 1 native.cc:1] a native error"
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "RuntimeError: a real failure"
    assert "XLA" not in result.stderr and "absl::InitializeLog" not in result.stderr


def test_quiet_console_keeps_a_warning_filter_the_user_set():
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), PYTHONWARNINGS="default")
    code = (
        "import warnings\n"
        "from pipelines import console\n"
        "console.configure(verbose=False)\n"
        "warnings.warn('shown', UserWarning)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )

    assert result.returncode == 0
    assert "UserWarning: shown" in result.stderr


def test_help_keeps_the_commands_paragraphs(capsys):
    from pipelines import cli
    from pipelines.commands import run as run_command

    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])

    out = capsys.readouterr().out
    assert run_command.__doc__.strip() in out
    assert "-v, --verbose" in out


@pytest.mark.parametrize(
    "argv, verbose",
    [(["run"], False), (["-v", "run"], True), (["run", "-v"], True), (["run", "--verbose"], True)],
)
def test_verbose_is_accepted_before_or_after_the_command(argv, verbose):
    from pipelines import cli

    args, _ = cli.build_parser().parse_known_args(argv)

    assert args.verbose is verbose
