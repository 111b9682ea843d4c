"""Versioned pushes: complete or absent, even when the pushing process is killed."""

import json
import os
import subprocess
import sys

import pytest

from components.errors import BertpipeError
from components.pusher import versions
from tests.components.pusher import saved_models
from tests.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    return saved_models.write_export_like(str(tmp_path_factory.mktemp("export") / "model"))


def test_publish_copies_every_file_and_a_manifest(export, tmp_path):
    version, path = versions.publish(export, str(tmp_path), version=100)
    assert (version, path) == ("100", str(tmp_path / "100"))
    copied = saved_models.snapshot(path)
    original = saved_models.snapshot(export)
    assert {k: v[0] for k, v in copied.items() if k != versions.MANIFEST} == {
        k: v[0] for k, v in original.items()
    }
    assert "encoder/saved_model.pb" in copied
    manifest = json.loads(copied[versions.MANIFEST][0])
    assert manifest["files"] == {k: len(v[0]) for k, v in original.items()}
    assert versions.check_complete(path) is None
    assert os.listdir(tmp_path) == ["100"]  # no staging directory left


def test_versions_only_increase(export, tmp_path):
    versions.publish(export, str(tmp_path), version=2_000_000_000)
    assert versions.next_version(str(tmp_path), now=1_000) == 2_000_000_001
    assert versions.next_version(str(tmp_path), now=3_000_000_000) == 3_000_000_000
    with pytest.raises(BertpipeError, match="already exists; versions are immutable"):
        versions.publish(export, str(tmp_path), version=2_000_000_000)


def test_publish_rejects_a_directory_without_a_saved_model(tmp_path):
    with pytest.raises(BertpipeError, match="has no saved_model.pb; push the trainer's export"):
        versions.publish(str(tmp_path), str(tmp_path / "out"))


def test_a_failed_copy_leaves_nothing(export, tmp_path, monkeypatch):
    versions.publish(export, str(tmp_path), version=1)
    calls = []

    def failing_copy(src, dst, overwrite=False):
        calls.append(src)
        if len(calls) == 3:
            raise OSError("disk full")
        return original(src, dst, overwrite=overwrite)

    original = versions.tf.io.gfile.copy
    monkeypatch.setattr(versions.tf.io.gfile, "copy", failing_copy)
    with pytest.raises(OSError, match="disk full"):
        versions.publish(export, str(tmp_path), version=2)
    assert sorted(os.listdir(tmp_path)) == ["1"]


_KILLED_PUSH = """
import os, sys
from components.pusher import versions
step = {"n": 0}
def die_midway(original):
    def wrapped(src, dst, overwrite=False):
        step["n"] += 1
        if step["n"] == 4:
            os._exit(9)  # like SIGKILL: no cleanup runs
        return original(src, dst, overwrite=overwrite)
    return wrapped
gfile = versions.tf.io.gfile
if sys.argv[3] == "atomic":
    gfile.copy = die_midway(gfile.copy)
else:  # object-store mode: die while moving the staged files into the version
    gfile.rename = die_midway(gfile.rename)
versions.publish(sys.argv[1], sys.argv[2], version=2, atomic_rename=sys.argv[3] == "atomic")
"""


@pytest.mark.parametrize("mode", ["atomic", "per_file"])
def test_a_push_killed_midway_is_never_taken_for_a_version(export, tmp_path, mode):
    base = str(tmp_path)
    versions.publish(export, base, version=1)
    before = saved_models.snapshot(os.path.join(base, "1"))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_PUSH, export, base, mode],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 9, proc.stderr[-2000:]
    names = sorted(os.listdir(base))
    assert any(n.startswith(".staging-2-") for n in names)
    if mode == "atomic":
        assert "2" not in names  # the rename never happened
    else:
        assert "2" in names  # a partial directory, as an object store would show it
        assert versions.check_complete(os.path.join(base, "2")) == (
            "no bertpipe_push.json (an interrupted or foreign push)"
        )
    assert versions.complete_versions(base) == [(1, os.path.join(base, "1"))]
    assert versions.resolve_model_dir(base) == os.path.join(base, "1")
    assert saved_models.snapshot(os.path.join(base, "1")) == before


def test_a_version_missing_a_listed_file_is_incomplete(export, tmp_path):
    _, path = versions.publish(export, str(tmp_path), version=5)
    os.remove(os.path.join(path, "variables", "variables.index"))
    assert versions.check_complete(path) == "variables/variables.index is missing"
    with pytest.raises(BertpipeError, match=r"versions \[5\] are incomplete pushes"):
        versions.resolve_model_dir(str(tmp_path))


def test_resolve_model_dir_accepts_an_export_directory(export):
    assert versions.resolve_model_dir(export) == export
