"""Rendering and reading bertpipe's kustomizations for the tests in this package."""

from __future__ import annotations

import functools
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import REPO_ROOT

KUBERNETES_DIR = REPO_ROOT / "kubernetes"
NAMESPACE = "bertpipe"
# Kubernetes version the manifests are validated against (kubectl 1.32 here; GKE regular
# channel versions are at or above it).
KUBERNETES_VERSION = "1.32.0"

# Kustomizations that build offline. kfp/* pull upstream Kubeflow Pipelines from GitHub;
# components/* are kustomize Components, built only as part of the overlays.
LOCAL_KUSTOMIZATIONS = sorted(
    path.parent.relative_to(KUBERNETES_DIR).as_posix()
    for path in KUBERNETES_DIR.rglob("kustomization.yaml")
    if path.parent.relative_to(KUBERNETES_DIR).parts[0] not in ("kfp", "components")
)
OVERLAYS = sorted(p.name for p in (KUBERNETES_DIR / "overlays").iterdir() if p.is_dir())
KUBECTL = shutil.which("kubectl")
# API groups of the Config Connector kinds used (no schema bundled in kubernetes-validate).
CONFIG_CONNECTOR_GROUPS = (
    "container.cnrm.cloud.google.com/v1beta1",
    "iam.cnrm.cloud.google.com/v1beta1",
    "storage.cnrm.cloud.google.com/v1beta1",
)

needs_kubectl = pytest.mark.skipif(
    KUBECTL is None,
    reason="kubectl (with built-in kustomize) is not installed; it renders the manifests",
)


@functools.cache
def build(kustomization: str) -> tuple[dict, ...]:
    """`kubectl kustomize kubernetes/<kustomization>` parsed into objects."""
    result = subprocess.run(
        [KUBECTL, "kustomize", str(KUBERNETES_DIR / kustomization)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize {kustomization} failed:\n{result.stderr}")
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def find(objects, kind: str, name: str | None = None) -> list[dict]:
    return [o for o in objects if o["kind"] == kind and name in (None, o["metadata"]["name"])]


def one(objects, kind: str, name: str | None = None) -> dict:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def settings() -> dict[str, str]:
    """kubernetes/settings/settings.env as a dict (what the ConfigMap is generated from)."""
    values = {}
    for line in (KUBERNETES_DIR / "settings" / "settings.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def pod_specs(obj: dict) -> list[dict]:
    """Pod specs inside a workload object (Pod, Job, CronJob, Deployment, ...)."""
    if obj["kind"] == "Pod":
        return [obj["spec"]]
    if obj["kind"] == "CronJob":
        return [obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]]
    template = obj.get("spec", {}).get("template") if isinstance(obj.get("spec"), dict) else None
    return [template["spec"]] if isinstance(template, dict) and "spec" in template else []
