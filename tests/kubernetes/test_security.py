"""Least privilege and non-root: RBAC, pod security, and no Secret objects."""

import copy
import re

import pytest

from tests.conftest import REPO_ROOT
from tests.kubernetes.manifests import (
    LOCAL_KUSTOMIZATIONS,
    NAMESPACE,
    OVERLAYS,
    build,
    find,
    needs_kubectl,
    one,
    pod_specs,
)

pytestmark = needs_kubectl


def test_runner_role_is_least_privilege():
    base = build("base")
    assert not find(base, "ClusterRole") and not find(base, "ClusterRoleBinding")
    rules = one(base, "Role", "bertpipe-runner")["rules"]
    assert rules == [
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": ["kfp-launcher"],
            "verbs": ["get"],
        },
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["mlpipeline-minio-artifact"],
            "verbs": ["get"],
        },
        {
            "apiGroups": ["argoproj.io"],
            "resources": ["workflowtaskresults"],
            "verbs": ["create", "patch"],
        },
    ]
    binding = one(base, "RoleBinding", "bertpipe-runner")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "bertpipe-runner",
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "bertpipe-runner", "namespace": NAMESPACE}
    ]


@pytest.mark.parametrize("kustomization", LOCAL_KUSTOMIZATIONS)
def test_no_rbac_rule_uses_wildcards_or_unnamed_secrets(kustomization):
    for role in find(build(kustomization), "Role") + find(build(kustomization), "ClusterRole"):
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule.get(field, []), f"{role['metadata']['name']}: {rule}"
            if "secrets" in rule["resources"]:
                assert rule.get("resourceNames"), "secrets access must name the secrets"


IMAGE_USER = re.search(r"^USER (\d+):(\d+)$", (REPO_ROOT / "Dockerfile").read_text(), re.M)


def security_problems(obj):
    """Why the pods of `obj` could run as root or gain privileges (restricted PSS rules)."""
    problems = []
    for pod in pod_specs(obj):
        pod_context = pod.get("securityContext", {})
        if pod_context.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append("pod: no RuntimeDefault seccomp profile")
        for container in pod.get("initContainers", []) + pod["containers"]:
            context = {**pod_context, **container.get("securityContext", {})}
            name = container["name"]
            if context.get("runAsNonRoot") is not True:
                problems.append(f"{name}: runAsNonRoot is not true")
            if context.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{name}: allowPrivilegeEscalation is not false")
            if context.get("privileged"):
                problems.append(f"{name}: privileged")
            if context.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{name}: capabilities not dropped")
            # The image's USER: root is excluded, and files the image created stay usable.
            if (
                str(context.get("runAsUser")),
                str(context.get("runAsGroup")),
            ) != IMAGE_USER.groups():
                problems.append(f"{name}: runs as {context.get('runAsUser')}, not the image's USER")
    return problems


@pytest.mark.parametrize("kustomization", LOCAL_KUSTOMIZATIONS)
def test_containers_run_as_non_root_without_privilege_escalation(kustomization):
    for obj in build(kustomization):
        assert security_problems(obj) == [], f"{obj['kind']}/{obj['metadata']['name']}"


def test_security_check_catches_root_and_privilege_escalation():
    job = copy.deepcopy(one(build(f"smoke/{OVERLAYS[0]}"), "Job"))
    pod = job["spec"]["template"]["spec"]
    pod["securityContext"]["runAsUser"] = 0
    pod["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    assert security_problems(job) == [
        "smoke: allowPrivilegeEscalation is not false",
        "smoke: runs as 0, not the image's USER",
    ]


def test_every_smoke_job_has_a_pod_to_check():
    for overlay in OVERLAYS:
        assert pod_specs(one(build(f"smoke/{overlay}"), "Job"))


def test_namespace_enforces_baseline_and_warns_on_restricted():
    labels = one(build("base"), "Namespace")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"


@pytest.mark.parametrize("kustomization", LOCAL_KUSTOMIZATIONS)
def test_no_secret_objects_are_rendered(kustomization):
    assert not find(build(kustomization), "Secret")
