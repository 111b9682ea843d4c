"""Tests for scripts/check_image.py, the check the image build runs after installing."""

import base64
import hashlib
import importlib.util
import os
import sys

import pytest

from tests.conftest import REPO_ROOT


@pytest.fixture(scope="module")
def check_image():
    spec = importlib.util.spec_from_file_location(
        "check_image", REPO_ROOT / "scripts" / "check_image.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def venv_on_path(monkeypatch):
    # What the image's ENV PATH does: the environment's bin directory first.
    bin_dir = os.path.dirname(sys.executable)
    monkeypatch.setenv("PATH", bin_dir + os.pathsep + os.environ.get("PATH", ""))


def test_cpu_variant_passes_for_the_pinned_stack(check_image, venv_on_path, capsys):
    assert check_image.main(["--variant", "cpu"]) == 0
    assert capsys.readouterr().out.strip() == "check_image: cpu image OK (tensorflow 2.16.2)"


def test_tpu_variant_fails_without_the_tpu_build(check_image, venv_on_path, capsys):
    assert check_image.main(["--variant", "tpu"]) == 1
    assert capsys.readouterr().err.strip() == (
        "check_image: tensorflow-tpu is not installed (build with --build-arg TF_VARIANT=tpu)"
    )


def test_missing_bertpipe_command_is_reported(check_image, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    problems = check_image.check_common()
    assert problems == ["`bertpipe` is not on PATH (is the venv's bin directory on PATH?)"]


def _record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def test_overwritten_shared_library_is_detected(check_image, tmp_path, monkeypatch):
    (tmp_path / "fakepkg").mkdir()
    (tmp_path / "fakepkg" / "core.so").write_bytes(b"tpu build")
    (tmp_path / "fakepkg" / "other.so").write_bytes(b"tpu build too")
    info = tmp_path / "fakepkg_tpu-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakepkg-tpu\nVersion: 1.0\n")
    (info / "RECORD").write_text(
        f"fakepkg/core.so,{_record_hash(b'tpu build')},9\n"
        f"fakepkg/other.so,{_record_hash(b'tpu build too')},13\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert check_image._tampered_libraries("fakepkg-tpu") == []
    # Another build of the same package installed afterwards rewrites the file.
    (tmp_path / "fakepkg" / "core.so").write_bytes(b"cpu build")
    assert check_image._tampered_libraries("fakepkg-tpu") == ["fakepkg/core.so"]


def test_dataflow_side_passes_when_boot_may_use_the_image_environment(
    check_image, venv_on_path, monkeypatch
):
    monkeypatch.setenv("RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT", "1")
    assert check_image.check_dataflow() == []


def test_dataflow_side_fails_when_boot_would_make_its_own_venv(
    check_image, venv_on_path, monkeypatch
):
    monkeypatch.delenv("RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT", raising=False)
    assert check_image.check_dataflow() == [
        "RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT is not set: Beam's boot would start the "
        "worker in a new venv that cannot see /opt/venv's packages"
    ]


def test_dataflow_side_fails_when_pip_finds_no_beam(check_image, monkeypatch, tmp_path):
    # A `python` on PATH whose environment has no apache-beam, as in a wrong base image.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.base_prefix + "/bin/python3")
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT", "1")
    assert check_image.check_dataflow() == [
        "`python -m pip show apache-beam` finds no Beam (boot refuses to start)"
    ]
