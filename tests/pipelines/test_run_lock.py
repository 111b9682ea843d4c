"""Tests for the run lock: one `bertpipe run` per pipeline root, stale locks, `runs` state."""

import json
import os
import subprocess
import sys

import pytest

from components.errors import BertpipeError
from pipelines import cli, metadata, run_lock
from pipelines.commands.runs import run_state
from tests.conftest import REPO_ROOT

_HOLD = (
    "import sys, time; from pipelines import run_lock\n"
    "with run_lock.held(sys.argv[1], log=print):\n"
    "    print('held', flush=True); time.sleep(60)\n"
)


@pytest.fixture
def holder(tmp_path):
    """A fresh process holding the run lock of tmp_path (as a running `bertpipe run` does)."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(tmp_path)], env=env, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline() == "held\n"
    yield process
    process.kill()
    process.wait()


def test_second_run_on_one_root_is_refused_naming_the_holder(tmp_path, holder):
    with pytest.raises(BertpipeError) as refused, run_lock.held(str(tmp_path), log=print):
        pass
    assert str(refused.value).startswith(
        f"pipeline root {tmp_path} is in use by another bertpipe run (pid {holder.pid} on host "
    )
    assert run_lock.is_held(str(tmp_path))


def test_lock_of_a_killed_run_is_taken_over_and_said(tmp_path, holder):
    with open(run_lock.lock_path(str(tmp_path))) as f:
        started = json.load(f)["started"]
    holder.kill()  # SIGKILL: no cleanup runs; the kernel drops the lock.
    holder.wait()
    assert not run_lock.is_held(str(tmp_path))
    lines = []
    path = run_lock.lock_path(str(tmp_path))
    with run_lock.held(str(tmp_path), log=lines.append), open(path) as f:
        assert json.load(f)["pid"] == os.getpid()
    assert len(lines) == 1
    assert lines[0].startswith(
        f"bertpipe: took over the run lock of {tmp_path} from a run that is no longer running "
        f"(pid {holder.pid} on host "
    )
    assert lines[0].endswith(f", started {started})")


def test_lock_after_a_run_that_ended_is_taken_silently(tmp_path):
    lines = []
    for _ in range(2):
        with run_lock.held(str(tmp_path), log=lines.append):
            pass
    assert lines == []
    assert not run_lock.is_held(str(tmp_path))


@pytest.mark.parametrize(
    "states, live, expected",
    [
        (["complete", "running"], False, "killed"),
        (["complete", "running"], True, "running"),
        (["complete", "new"], False, "killed"),
        (["complete", "failed"], False, "failed"),
        (["cached", "complete"], False, "complete"),
    ],
)
def test_run_state_shows_unfinished_runs_without_a_live_lock_as_killed(states, live, expected):
    assert run_state(states, live=live) == expected


def _record_unfinished_run(root: str) -> None:
    """An ML Metadata store as a killed run leaves it: an execution still RUNNING."""
    from ml_metadata.proto import metadata_store_pb2 as pb

    store = metadata.open_store(metadata.metadata_path(root), must_exist=False)
    run_type = store.put_context_type(pb.ContextType(name="pipeline_run"))
    [run_id] = store.put_contexts([pb.Context(type_id=run_type, name="run-killed")])
    execution_type = store.put_execution_type(pb.ExecutionType(name="Trainer"))
    execution = pb.Execution(type_id=execution_type, last_known_state=pb.Execution.RUNNING)
    [execution_id] = store.put_executions([execution])
    store.put_attributions_and_associations(
        [], [pb.Association(context_id=run_id, execution_id=execution_id)]
    )


def test_runs_lists_a_killed_run_as_killed_and_a_held_one_as_running(tmp_path, capsys):
    _record_unfinished_run(str(tmp_path))
    assert cli.main(["runs", "--pipeline-root", str(tmp_path)]) == 0
    [header, row] = capsys.readouterr().out.splitlines()
    assert header.split()[:3] == ["run", "id", "started"] and "state" in header.split()
    assert row.startswith("run-killed") and row.split()[3] == "killed"
    with run_lock.held(str(tmp_path), log=print):
        assert cli.main(["runs", "--pipeline-root", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[3] == "running"
