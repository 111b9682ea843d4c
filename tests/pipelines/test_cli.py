"""Tests for the `bertpipe` command line: --help, --version and doctor."""

import glob
import os
import shutil
import subprocess
import sys

import pytest

from pipelines import __version__, cli
from tests.conftest import REPO_ROOT


def _run(args, python=sys.executable, prelude=""):
    code = f"import sys; {prelude}from pipelines.cli import main; sys.exit(main({args!r}))"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run(
        [python, "-c", code], capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300
    )


def test_help_lists_only_registered_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert name in out


def test_version_prints_package_version(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.strip() == f"bertpipe {__version__}"


def test_no_command_prints_help_and_fails(capsys):
    assert cli.main([]) == 2
    assert "usage: bertpipe" in capsys.readouterr().out


def test_doctor_passes_in_the_project_environment():
    result = _run(["doctor"])
    assert result.returncode == 0, result.stderr
    for label in (
        "Python",
        "TensorFlow",
        "TFX",
        "Apache Beam",
        "KFP",
        "tf.Transform",
        "tensorflow-text",
    ):
        assert f"\n{label} " in "\n" + result.stdout
    assert "Devices" in result.stdout and " CPU" in result.stdout
    assert "all checks passed" in result.stdout


def test_doctor_names_missing_dill():
    # The failure users hit when a newer Beam replaces 2.59.0: tfx_bsl cannot import dill.
    result = _run(["doctor"], prelude="sys.modules['dill'] = None; ")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("bertpipe doctor: FAILED: ")
    assert "dill" in last and "constraints.txt" in last
    assert "IMPORT FAILS" in result.stdout


def _other_python():
    names = [
        "python3.11",
        "python3.12",
        *glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[1-9]*/bin/python3")),
    ]
    for name in names:
        path = shutil.which(name) or (name if os.path.exists(name) else None)
        if path and subprocess.run([path, "-c", "pass"], capture_output=True).returncode == 0:
            return path
    return None


def test_doctor_names_wrong_python():
    python = _other_python()
    if python is None:
        pytest.skip("no Python other than 3.10 on this machine to run the doctor with")
    result = _run(["doctor"], python=python)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "bertpipe needs Python 3.10" in last and "tfx 1.16.0" in last
