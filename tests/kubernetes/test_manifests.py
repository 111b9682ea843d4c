"""Every local kustomization builds, validates offline and is wired together consistently.

Built-in kinds are validated with kubernetes-validate against the bundled Kubernetes JSON
schemas with strict checking (unknown fields fail). Config Connector kinds have no bundled
schema there; test_config_connector.py checks them.
"""

import copy
import re

import kubernetes_validate
import pytest

from tests.conftest import REPO_ROOT
from tests.kubernetes.manifests import (
    CONFIG_CONNECTOR_GROUPS,
    KUBERNETES_VERSION,
    LOCAL_KUSTOMIZATIONS,
    NAMESPACE,
    OVERLAYS,
    build,
    needs_kubectl,
    one,
    settings,
)

pytestmark = needs_kubectl


@pytest.mark.parametrize("kustomization", LOCAL_KUSTOMIZATIONS)
def test_kustomization_builds_and_builtin_kinds_validate_strictly(kustomization):
    objects = build(kustomization)
    assert objects
    for obj in objects:
        if obj["apiVersion"] in CONFIG_CONNECTOR_GROUPS:
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


def test_strict_validation_rejects_an_unknown_field():
    job = copy.deepcopy(one(build(f"smoke/{OVERLAYS[0]}"), "Job"))
    job["spec"]["template"]["spec"]["nodeSelektor"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="nodeSelektor"):
        kubernetes_validate.validate(job, KUBERNETES_VERSION, strict=True)


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


@pytest.mark.parametrize("guide", ["kubernetes/README.md", "docs/deploy/kubeflow.md"])
def test_readme_commands_name_real_kustomizations_and_objects(guide):
    readme = (REPO_ROOT / guide).read_text()
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
