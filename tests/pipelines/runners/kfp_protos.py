"""The KFP Kubernetes platform proto (`KubernetesExecutorConfig`) for offline checks.

The only kfp-kubernetes that installs beside kfp 2.5 / protobuf 3 is 1.0.0, whose
`KubernetesExecutorConfig` has `nodeSelector` but no `tolerations`, so it would reject the
TPU toleration the KFP 2.2+ backend applies. kfp-kubernetes 1.2.0 is the first release
with `tolerations`; it requires protobuf 4 and kfp 2.6, so it is not installed: its sdist
is downloaded once (pinned by sha256, no dependencies) into `.cache/`, and only the
generated `kubernetes_executor_config_pb2.py` (plain protobuf 3 descriptors) is loaded,
under its own module name. Tests skip, saying why, when PyPI cannot be reached.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tarfile

import pytest

from tests.conftest import REPO_ROOT

VERSION = "1.2.0"
SHA256 = "5f1bf4e7a3b768e36f865e429535ef5362e8cdc59cc2941007033361e4d67fa1"
_CACHE = REPO_ROOT / ".cache" / f"kfp-kubernetes-{VERSION}"
_MEMBER = f"kfp-kubernetes-{VERSION}/kfp/kubernetes/kubernetes_executor_config_pb2.py"


def _sdist():
    found = sorted(_CACHE.glob("kfp*kubernetes-*.tar.gz"))
    if found:
        return found[0]
    _CACHE.mkdir(parents=True, exist_ok=True)
    requirement = _CACHE / "requirement.txt"
    requirement.write_text(f"kfp-kubernetes=={VERSION} --hash=sha256:{SHA256}\n")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
    command += ["--require-hashes", "-r", str(requirement), "-d", str(_CACHE), "-q"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    found = sorted(_CACHE.glob("kfp*kubernetes-*.tar.gz"))
    if result.returncode != 0 or not found:
        pytest.skip(f"kfp-kubernetes {VERSION} sdist not downloadable: {result.stderr[-300:]}")
    return found[0]


def kubernetes_executor_config():
    """The `KubernetesExecutorConfig` message class of kfp-kubernetes 1.2.0."""
    name = "bertpipe_kfp_kubernetes_executor_config_pb2"
    if name in sys.modules:
        return sys.modules[name].KubernetesExecutorConfig
    target = _CACHE / "kubernetes_executor_config_pb2.py"
    if not target.exists():
        with tarfile.open(_sdist()) as tar:
            target.write_bytes(tar.extractfile(_MEMBER).read())
    spec = importlib.util.spec_from_file_location(name, target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module.KubernetesExecutorConfig
