"""Check an installed bertpipe environment the way a pipeline step will use it.

Run by the Dockerfile right after the install, so a broken image fails to build instead of
failing in the first Kubeflow/Vertex step. It checks that what the compiled pipeline calls
is there: `python -m tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor`
imports, bertpipe's packages import, `bertpipe` is on PATH, and TensorFlow is the version
bertpipe pins. With `--variant tpu` it also checks that the TPU build of TensorFlow
(`tensorflow-tpu`, same version as tfx's `tensorflow` pin) is the one on disk and that its
`libtpu` shared library is installed.

Usage: python scripts/check_image.py --variant {cpu,tpu}
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib
import importlib.metadata as metadata
import pathlib
import re
import shutil
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
        m = re.match(r"^([A-Za-z0-9_.-]+)\s*==\s*([^\s;]+)$", requirement.strip())
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=("cpu", "tpu"), required=True)
    args = parser.parse_args(argv)
    problems = check_common()
    if args.variant == "tpu":
        problems += check_tpu()
    for problem in problems:
        print(f"check_image: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"check_image: {args.variant} image OK (tensorflow {_version('tensorflow')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
