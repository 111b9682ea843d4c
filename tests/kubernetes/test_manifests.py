"""Every local kustomization builds, validates offline, and keeps bertpipe's rules.

Built-in kinds are validated with kubernetes-validate against the bundled Kubernetes JSON
schemas with strict checking (unknown fields fail). Config Connector kinds have no bundled
schema (kubernetes-validate only warns), so they are checked here field by field against
the fields their CRDs define, plus the rules that matter for bertpipe; with
BERTPIPE_KCC_CRDS pointing at Config Connector's CRD files they are also validated against
the real CRD schemas.
"""

import copy
import glob
import os
import pathlib
import re

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.kubernetes.manifests import (
    KUBERNETES_VERSION,
    LOCAL_KUSTOMIZATIONS,
    NAMESPACE,
    OVERLAYS,
    build,
    find,
    needs_kubectl,
    one,
    pod_specs,
    settings,
)

pytestmark = needs_kubectl

CONFIG_CONNECTOR_GROUPS = (
    "container.cnrm.cloud.google.com/v1beta1",
    "iam.cnrm.cloud.google.com/v1beta1",
    "storage.cnrm.cloud.google.com/v1beta1",
)

# Fields of the Config Connector v1beta1 CRDs that these manifests may use (a subset of each
# CRD's spec, names as the CRDs spell them). None: a scalar; "map": string-to-string map;
# [dict]: a list of such objects.
_REF = {"name": None, "namespace": None, "external": None}
KCC_SPEC_FIELDS = {
    "ContainerNodePool": {
        "clusterRef": _REF,
        "location": None,
        "nodeLocations": None,
        "initialNodeCount": None,
        "autoscaling": {
            "totalMinNodeCount": None,
            "totalMaxNodeCount": None,
            "minNodeCount": None,
            "maxNodeCount": None,
            "locationPolicy": None,
        },
        "management": {"autoRepair": None, "autoUpgrade": None},
        "placementPolicy": {"type": None, "tpuTopology": None},
        "nodeConfig": {
            "machineType": None,
            "spot": None,
            "preemptible": None,
            "imageType": None,
            "diskType": None,
            "diskSizeGb": None,
            "labels": "map",
            "taint": [{"key": None, "value": None, "effect": None}],
            "workloadMetadataConfig": {"mode": None},
            "serviceAccountRef": _REF,
            "oauthScopes": None,
        },
    },
    "IAMServiceAccount": {"displayName": None, "description": None, "resourceID": None},
    "IAMPolicyMember": {
        "member": None,
        "memberFrom": {"serviceAccountRef": _REF},
        "role": None,
        "resourceRef": {"kind": None, "apiVersion": None, **_REF},
    },
    "StorageBucket": {
        "resourceID": None,
        "location": None,
        "uniformBucketLevelAccess": None,
        "publicAccessPrevention": None,
        "versioning": {"enabled": None},
    },
}
KCC_REQUIRED = {
    "ContainerNodePool": ("clusterRef", "location"),
    "IAMPolicyMember": ("resourceRef", "role"),
    "IAMServiceAccount": (),
    "StorageBucket": ("location",),
}


def unknown_fields(value, allowed, path):
    """Paths in `value` that the allowed-field tree does not define."""
    if allowed is None:
        return [] if not isinstance(value, dict) else [f"{path} (expected a scalar)"]
    if allowed == "map":
        ok = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        return [] if ok else [f"{path} (expected a string map)"]
    if isinstance(allowed, list):
        if not isinstance(value, list):
            return [f"{path} (expected a list)"]
        return [
            p
            for i, item in enumerate(value)
            for p in unknown_fields(item, allowed[0], f"{path}[{i}]")
        ]
    if not isinstance(value, dict):
        return [f"{path} (expected an object)"]
    out = []
    for key, item in value.items():
        if key not in allowed:
            out.append(f"{path}.{key}")
        else:
            out.extend(unknown_fields(item, allowed[key], f"{path}.{key}"))
    return out


def all_rendered():
    return [(k, o) for k in LOCAL_KUSTOMIZATIONS for o in build(k)]


@pytest.mark.parametrize("kustomization", LOCAL_KUSTOMIZATIONS)
def test_kustomization_builds_and_builtin_kinds_validate_strictly(kustomization):
    objects = build(kustomization)
    assert objects
    crds = []
    for obj in objects:
        if obj["apiVersion"] in CONFIG_CONNECTOR_GROUPS:
            crds.append(obj["kind"])
            with pytest.raises(kubernetes_validate.SchemaNotFoundError):
                kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            where = ".".join(str(p) for p in e.path)
            pytest.fail(
                f"{kustomization}: {obj['kind']}/{obj['metadata']['name']}: {where}: {e.message}"
            )
    assert set(crds) <= set(KCC_SPEC_FIELDS), "a CRD kind with no field check was added"


def test_strict_validation_rejects_an_unknown_field():
    job = copy.deepcopy(one(build(f"smoke/{OVERLAYS[0]}"), "Job"))
    job["spec"]["template"]["spec"]["nodeSelektor"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="nodeSelektor"):
        kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("kustomization", LOCAL_KUSTOMIZATIONS)
def test_config_connector_objects_use_only_crd_fields(kustomization):
    for obj in build(kustomization):
        if obj["apiVersion"] not in CONFIG_CONNECTOR_GROUPS:
            continue
        kind, spec = obj["kind"], obj.get("spec", {})
        assert set(obj) == {"apiVersion", "kind", "metadata", "spec"}
        assert unknown_fields(spec, KCC_SPEC_FIELDS[kind], "spec") == [], obj["metadata"]["name"]
        for field in KCC_REQUIRED[kind]:
            assert field in spec, f"{kind}/{obj['metadata']['name']} lacks spec.{field}"


def test_unknown_config_connector_field_is_caught():
    pool = copy.deepcopy(one(build(f"overlays/{OVERLAYS[0]}"), "ContainerNodePool"))
    pool["spec"]["placementPolicy"]["tpuTopolgy"] = "2x4"
    assert unknown_fields(pool["spec"], KCC_SPEC_FIELDS["ContainerNodePool"], "spec") == [
        "spec.placementPolicy.tpuTopolgy"
    ]


def _strict_schema(schema):
    if isinstance(schema, dict):
        schema = {k: _strict_schema(v) for k, v in schema.items()}
        open_ended = schema.get("x-kubernetes-preserve-unknown-fields")
        if "properties" in schema and "additionalProperties" not in schema and not open_ended:
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict_schema(v) for v in schema]
    return schema


@pytest.mark.skipif(
    not os.environ.get("BERTPIPE_KCC_CRDS"),
    reason="set BERTPIPE_KCC_CRDS to a directory of Config Connector CRD YAML files "
    "(k8s-config-connector config/crds/resources) to validate against the real CRD schemas",
)
def test_config_connector_objects_validate_against_their_crds():
    schemas = {}
    for path in glob.glob(os.path.join(os.environ["BERTPIPE_KCC_CRDS"], "*.yaml")):
        crd = yaml.safe_load(pathlib.Path(path).read_text())
        for version in crd["spec"]["versions"]:
            key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
            schemas[key] = _strict_schema(version["schema"]["openAPIV3Schema"])
    checked = 0
    for kustomization, obj in all_rendered():
        if obj["apiVersion"] not in CONFIG_CONNECTOR_GROUPS:
            continue
        schema = schemas[(obj["apiVersion"], obj["kind"])]
        errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(obj)]
        assert errors == [], f"{kustomization}: {obj['kind']}/{obj['metadata']['name']}"
        checked += 1
    assert checked


@pytest.mark.parametrize("kustomization", LOCAL_KUSTOMIZATIONS)
def test_everything_lives_in_the_bertpipe_namespace(kustomization):
    for obj in build(kustomization):
        if obj["kind"] == "Namespace":
            assert obj["metadata"]["name"] == NAMESPACE
        else:
            assert obj["metadata"].get("namespace") == NAMESPACE, obj["metadata"]["name"]


@pytest.mark.parametrize("kustomization", LOCAL_KUSTOMIZATIONS)
def test_every_settings_placeholder_is_replaced(kustomization):
    tokens = re.compile(r"\b(" + "|".join(settings()) + r")\b")

    def values(node):
        if isinstance(node, dict):
            for value in node.values():
                yield from values(value)
        elif isinstance(node, list):
            for value in node:
                yield from values(value)
        elif isinstance(node, str):
            yield node

    for obj in build(kustomization):
        for value in values({k: v for k, v in obj.items() if k != "data"}):
            assert not tokens.search(value), f"{obj['kind']}/{obj['metadata']['name']}: {value}"


def test_settings_are_consistent_with_each_other():
    s = settings()
    project, base = s["PROJECT_ID"], build("base")
    gsa = one(base, "IAMServiceAccount", "bertpipe-runner")["metadata"]["name"]
    ksa = one(base, "ServiceAccount")["metadata"]["name"]
    assert s["RUNNER_GSA"] == f"{gsa}@{project}.iam.gserviceaccount.com"
    assert (
        s["RUNNER_WORKLOAD_IDENTITY"] == f"serviceAccount:{project}.svc.id.goog[{NAMESPACE}/{ksa}]"
    )
    assert s["PIPELINE_ROOT"].startswith(f"gs://{s['BUCKET']}/")
    from pipelines import __version__

    assert s["IMAGE"].endswith(f"/bertpipe:{__version__}"), "the tag `make image` builds"
    assert s["TPU_IMAGE"].endswith(f"/bertpipe:{__version__}-tpu"), "`make image-tpu`"
    assert re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", project), "a GCP project ID"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_node_pool_zones_are_inside_the_cluster_location(overlay):
    location = settings()["CLUSTER_LOCATION"]
    pool = one(build(f"overlays/{overlay}"), "ContainerNodePool")
    for zone in pool["spec"]["nodeLocations"]:
        assert zone == location or zone.rsplit("-", 1)[0] == location


def test_workload_identity_wiring_matches_across_objects():
    base, s = build("base"), settings()
    ksa = one(base, "ServiceAccount", "bertpipe-runner")
    assert ksa["metadata"]["annotations"]["iam.gke.io/gcp-service-account"] == s["RUNNER_GSA"]
    binding = one(base, "IAMPolicyMember", "bertpipe-runner-workload-identity")["spec"]
    assert binding["member"] == s["RUNNER_WORKLOAD_IDENTITY"]
    assert binding["role"] == "roles/iam.workloadIdentityUser"
    assert binding["resourceRef"] == {"kind": "IAMServiceAccount", "name": "bertpipe-runner"}
    namespace = one(base, "Namespace")["metadata"]["annotations"]
    assert namespace["cnrm.cloud.google.com/project-id"] == s["PROJECT_ID"]


def test_config_connector_references_resolve_within_the_render():
    for overlay in OVERLAYS:
        objects = build(f"overlays/{overlay}")
        names = {(o["kind"], o["metadata"]["name"]) for o in objects}
        for obj in find(objects, "IAMPolicyMember"):
            spec = obj["spec"]
            assert ("member" in spec) != ("memberFrom" in spec), obj["metadata"]["name"]
            assert spec["role"].startswith("roles/")
            ref = spec["resourceRef"]
            if "external" in ref:
                assert ref == {
                    "kind": "Project",
                    "external": f"projects/{settings()['PROJECT_ID']}",
                }
            else:
                assert (ref["kind"], ref["name"]) in names
            if "memberFrom" in spec:
                account = spec["memberFrom"]["serviceAccountRef"]["name"]
                assert ("IAMServiceAccount", account) in names
        for pool in find(objects, "ContainerNodePool"):
            account = pool["spec"]["nodeConfig"]["serviceAccountRef"]["name"]
            assert ("IAMServiceAccount", account) in names
            assert pool["spec"]["nodeConfig"]["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
            assert pool["spec"]["clusterRef"] == {"external": settings()["CLUSTER_NAME"]}
            assert pool["spec"]["location"] == settings()["CLUSTER_LOCATION"]


def test_bucket_is_private_and_survives_deletion_of_its_object():
    bucket = one(build("base"), "StorageBucket")
    assert bucket["metadata"]["annotations"]["cnrm.cloud.google.com/deletion-policy"] == "abandon"
    assert bucket["spec"]["resourceID"] == settings()["BUCKET"]
    assert bucket["spec"]["uniformBucketLevelAccess"] is True
    assert bucket["spec"]["publicAccessPrevention"] == "enforced"


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


def test_readme_commands_name_real_kustomizations_and_objects():
    readme = (REPO_ROOT / "kubernetes" / "README.md").read_text()
    applied = re.findall(r"kubectl apply -k (\S+)", readme)
    assert applied, "the README shows how to apply"
    rendered = {}
    for path in applied:
        kustomization = path.removeprefix("kubernetes/")
        assert (REPO_ROOT / path / "kustomization.yaml").is_file(), path
        if not kustomization.startswith("kfp/"):
            for obj in build(kustomization):
                rendered[(obj["kind"].lower(), obj["metadata"]["name"])] = obj
    for kind, name in re.findall(r"\b(containernodepool|job)/([\w.-]+)", readme):
        assert (kind, name) in rendered, f"README names {kind}/{name}, which is not applied"
