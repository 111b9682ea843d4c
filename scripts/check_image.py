"""Check an installed bertpipe environment the way a pipeline step will use it.

Run by the Dockerfile right after the install, so a broken image fails to build instead of
failing in the first Kubeflow/Vertex step. It checks that what the compiled pipeline calls
is there: `python -m tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor`
imports, bertpipe's packages import, `bertpipe` is on PATH, and TensorFlow is the version
bertpipe pins. With `--variant tpu` it also checks that the TPU build of TensorFlow
(`tensorflow-tpu`, same version as tfx's `tensorflow` pin) is the one on disk and that its
`libtpu` shared library is installed. With `--dataflow` it checks what Beam's SDK harness
boot (the image's ENTRYPOINT, /opt/apache/beam/boot) needs from the image when a Dataflow
worker starts it: `RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT` set (else boot makes a new venv
without our packages), `python -m pip show apache-beam` finding the pinned Beam (boot's
`isPackageInstalled`), `apache_beam.runners.worker.sdk_worker_main` importing (what boot
runs with `python -m`), and the boot binary itself when the image has one.

Usage: python scripts/check_image.py --variant {cpu,tpu} [--dataflow]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib
import importlib.metadata as metadata
import os
import pathlib
import re
import shutil
import subprocess
import sys

# What a compiled step runs (bertpipe's step entrypoint, which runs TFX's Kubeflow V2
# container entrypoint) and what it imports.
MODULES = (
    "pipelines.runners.entrypoint",
    "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor",
    "tfx.v1",
    "components",
    "pipelines.cli",
)


def _pinned(distribution: str) -> str | None:
    """The exact version bertpipe's install_requires pins for `distribution`."""
    for requirement in metadata.requires("bertpipe") or []:
        m = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*==\s*([^\s;]+)$", requirement.strip())
        if m and m.group(1).lower() == distribution:
            return m.group(2)
    return None


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def check_common() -> list[str]:
    problems = []
    for module in MODULES:
        try:
            importlib.import_module(module)
        except Exception as e:  # Any import failure is what we report.
            problems.append(f"{module} does not import: {type(e).__name__}: {e}")
    if shutil.which("bertpipe") is None:
        problems.append("`bertpipe` is not on PATH (is the venv's bin directory on PATH?)")
    pinned, installed = _pinned("tensorflow"), _version("tensorflow")
    if pinned is None:
        problems.append("bertpipe is not installed (no pinned tensorflow in its metadata)")
    elif installed != pinned:
        problems.append(f"tensorflow {installed} is installed, bertpipe pins {pinned}")
    return problems


def _tampered_libraries(distribution: str) -> list[str]:
    """Shared libraries of `distribution` whose bytes differ from its RECORD."""
    dist = metadata.distribution(distribution)
    bad = []
    for entry in dist.files or []:
        if not entry.name.endswith(".so") or not entry.hash:
            continue
        path = pathlib.Path(dist.locate_file(entry))
        digest = base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest())
        if digest.rstrip(b"=").decode() != entry.hash.value:
            bad.append(str(entry))
    return bad


def check_tpu() -> list[str]:
    tf_version, tpu_version = _version("tensorflow"), _version("tensorflow-tpu")
    if tpu_version is None:
        return ["tensorflow-tpu is not installed (build with --build-arg TF_VARIANT=tpu)"]
    problems = []
    if tpu_version != tf_version:
        problems.append(
            f"tensorflow-tpu {tpu_version} does not match tfx's tensorflow {tf_version}: "
            "requirements-tpu.txt must pin the same version as constraints.txt"
        )
    # tensorflow and tensorflow-tpu install the same `tensorflow/` files; the TPU build must
    # be the one that was written last.
    overwritten = _tampered_libraries("tensorflow-tpu")
    if overwritten:
        problems.append(
            f"{len(overwritten)} tensorflow-tpu libraries were overwritten by another "
            f"TensorFlow build (first: {overwritten[0]}); install tensorflow-tpu last"
        )
    if _version("libtpu") is None:
        problems.append("libtpu is not installed (tensorflow-tpu needs it on TPU VMs)")
    elif not any(f.name == "libtpu.so" for f in metadata.distribution("libtpu").files or []):
        problems.append("the libtpu distribution ships no libtpu.so")
    return problems


BEAM_BOOT = pathlib.Path("/opt/apache/beam/boot")
SDK_HARNESS = "apache_beam.runners.worker.sdk_worker_main"


def check_dataflow() -> list[str]:
    """What Beam's boot needs from the image to start the Python SDK harness."""
    problems = []
    if not os.environ.get("RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT"):
        problems.append(
            "RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT is not set: Beam's boot would start the "
            "worker in a new venv that cannot see /opt/venv's packages"
        )
    show = subprocess.run(
        ["python", "-m", "pip", "show", "apache-beam"], capture_output=True, text=True
    )
    found = re.search(r"^Version: (\S+)$", show.stdout, re.M)
    pinned = _pinned("apache-beam")
    if show.returncode != 0 or not found:
        problems.append("`python -m pip show apache-beam` finds no Beam (boot refuses to start)")
    elif found.group(1) != pinned:
        problems.append(f"apache-beam {found.group(1)} is installed, bertpipe pins {pinned}")
    try:
        importlib.import_module(SDK_HARNESS)
    except Exception as e:  # Any import failure is what we report.
        problems.append(f"{SDK_HARNESS} does not import: {type(e).__name__}: {e}")
    if BEAM_BOOT.exists() and not os.access(BEAM_BOOT, os.X_OK):
        problems.append(f"{BEAM_BOOT} is not executable")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=("cpu", "tpu"), required=True)
    parser.add_argument("--dataflow", action="store_true", help="also the Dataflow worker side")
    args = parser.parse_args(argv)
    problems = check_common()
    if args.variant == "tpu":
        problems += check_tpu()
    if args.dataflow:
        problems += check_dataflow()
    for problem in problems:
        print(f"check_image: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"check_image: {args.variant} image OK (tensorflow {_version('tensorflow')})")
    if args.dataflow:
        boot = "present" if BEAM_BOOT.exists() else "not in this build"
        print(
            f"check_image: Dataflow worker side OK (apache-beam {_version('apache-beam')}; "
            f"{BEAM_BOOT}: {boot})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
