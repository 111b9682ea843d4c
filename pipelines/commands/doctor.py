"""Check that the bertpipe stack is installed and works: versions, imports and devices.

Prints Python, TensorFlow, TFX, Beam, KFP, tf.Transform and tensorflow-text versions,
whether each imports, and the CPUs/GPUs/TPUs TensorFlow sees. Exits 1 with a one-line
reason when something is broken.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import re
import sys
import traceback

NAME = "doctor"
HELP = "check the installed stack (versions, imports, devices)"
NEEDS_STACK = False  # Must run, and explain, even on the wrong Python.

_REQUIRED_PYTHON = (3, 10)


@dataclasses.dataclass(frozen=True)
class _Check:
    label: str
    distribution: str
    module: str  # What must import for the package to be usable.


CHECKS: tuple[_Check, ...] = (
    _Check("TensorFlow", "tensorflow", "tensorflow"),
    _Check("TFX", "tfx", "tfx.v1"),
    _Check("Apache Beam", "apache-beam", "apache_beam.runners.direct.direct_runner"),
    _Check("KFP", "kfp", "kfp.compiler"),
    _Check("tf.Transform", "tensorflow-transform", "tensorflow_transform.beam"),
    _Check("tensorflow-text", "tensorflow-text", "tensorflow_text"),
    _Check("ML Metadata", "ml-metadata", "ml_metadata"),
    _Check("dill", "dill", "dill"),
    _Check("tf_keras", "tf-keras", "tf_keras"),
)

# Why a commonly missing module matters, and how to get it back.
_HINTS = {
    "dill": "tfx_bsl imports dill, which apache-beam > 2.59 no longer installs; "
    "reinstall with `pip install -c constraints.txt dill==0.3.1.1` (or `make setup`)",
}


def add_arguments(parser) -> None:
    del parser  # No options.


def _installed_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _pinned_versions() -> dict[str, str]:
    """Exact pins (`name==x`) that the installed bertpipe distribution requires."""
    try:
        requirements = importlib.metadata.requires("bertpipe") or []
    except importlib.metadata.PackageNotFoundError:
        return {}
    pins = {}
    for requirement in requirements:
        if "extra ==" in requirement:
            continue
        m = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*==\s*([^\s;]+)", requirement)
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(3)
    return pins


def _import_problem(module: str) -> str | None:
    try:
        importlib.import_module(module)
    except Exception as e:  # Any import failure is what we report.
        missing = getattr(e, "name", None) if isinstance(e, ImportError) else None
        if missing in _HINTS:
            return f"{module} does not import: no module {missing!r}: {_HINTS[missing]}"
        last = traceback.format_exception_only(type(e), e)[-1].strip()
        return f"{module} does not import: {last}"
    return None


def _devices() -> str:
    import tensorflow as tf

    counts = {kind: len(tf.config.list_physical_devices(kind)) for kind in ("CPU", "GPU", "TPU")}
    return ", ".join(f"{n} {kind}" for kind, n in counts.items())


def run(args) -> int:
    del args
    problems: list[str] = []
    python = sys.version.split()[0]
    ok_python = sys.version_info[:2] == _REQUIRED_PYTHON
    print(f"{'Python':<16} {python:<12} {'ok' if ok_python else 'WRONG'}  ({sys.executable})")
    if not ok_python:
        problems.append(
            f"Python {python} is not supported: bertpipe needs Python 3.10 because tfx 1.16.0 "
            "requires >=3.9,<3.11; build the venv with `make setup`"
        )

    pins = _pinned_versions()
    for check in CHECKS:
        version = _installed_version(check.distribution)
        if version is None:
            print(f"{check.label:<16} {'-':<12} MISSING")
            hint = _HINTS.get(check.distribution, "run `make setup`")
            problems.append(f"{check.distribution} is not installed: {hint}")
            continue
        status, problem = "ok", None
        pinned = pins.get(check.distribution)
        if pinned and version != pinned:
            status = "WRONG VERSION"
            problem = (
                f"{check.distribution} {version} is installed but bertpipe is tested with "
                f"{pinned}; reinstall with `pip install -c constraints.txt -e .`"
            )
        elif ok_python:
            problem = _import_problem(check.module)
            if problem:
                status = "IMPORT FAILS"
        print(f"{check.label:<16} {version:<12} {status}")
        if problem:
            problems.append(problem)

    if not problems:
        print(f"{'Devices':<16} {_devices()}")
        print("bertpipe doctor: all checks passed")
        return 0
    for problem in problems[1:]:
        print(f"  also: {problem}", file=sys.stderr)
    print(f"bertpipe doctor: FAILED: {problems[0]}", file=sys.stderr)
    return 1
