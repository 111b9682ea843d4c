"""Config Connector objects (IAM, bucket, node pools): CRD fields and the wiring between them.

kubernetes-validate has no schemas for Config Connector kinds (it only warns), so they are
checked here field by field against the fields their v1beta1 CRDs define, plus the rules
that matter for bertpipe. With BERTPIPE_KCC_CRDS pointing at Config Connector's CRD files
(k8s-config-connector config/crds/resources) they are also validated, strictly, against
the real CRD schemas.
"""

import copy
import glob
import os
import pathlib

import jsonschema
import pytest
import yaml

from tests.kubernetes.manifests import (
    CONFIG_CONNECTOR_GROUPS,
    LOCAL_KUSTOMIZATIONS,
    OVERLAYS,
    build,
    find,
    needs_kubectl,
    one,
    settings,
)

pytestmark = needs_kubectl

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
