"""The Kubeflow Pipelines install: a pinned remote base, changed only where bertpipe needs.

kubernetes/kfp/* reference upstream KFP manifests on GitHub, which these machines cannot
fetch, so the default tests check the references and patches as text. With
BERTPIPE_KFP_MANIFESTS pointing at a local checkout of kubeflow/pipelines at the pinned tag,
the kustomizations are also built against it (remote URL swapped for the local path) and
the result is validated and checked against base/'s RBAC.
"""

import os
import re
import shutil
import subprocess

import kubernetes_validate
import pytest
import yaml

from tests.kubernetes.manifests import (
    KUBECTL,
    KUBERNETES_DIR,
    KUBERNETES_VERSION,
    NAMESPACE,
    build,
    find,
    needs_kubectl,
    one,
    settings,
)
from tests.pipelines.runners.pod import cluster_fs_group

REMOTE = re.compile(
    r"^https://github\.com/kubeflow/pipelines/manifests/kustomize/(?P<path>[\w/-]+)"
    r"\?ref=(?P<ref>[^&\s]+)$"
)
# Upstream entry points for a standalone install (manifests/kustomize/README.md).
EXPECTED_PATHS = {"cluster-scoped": "cluster-scoped-resources", "install": "env/platform-agnostic"}


def kustomization(name):
    return yaml.safe_load((KUBERNETES_DIR / "kfp" / name / "kustomization.yaml").read_text())


def remote_refs():
    refs = {}
    for name, path in EXPECTED_PATHS.items():
        remotes = [r for r in kustomization(name)["resources"] if "://" in r]
        assert len(remotes) == 1, f"kfp/{name} must have exactly one remote base"
        match = REMOTE.match(remotes[0])
        assert match, f"kfp/{name}: {remotes[0]} is not a kubeflow/pipelines manifest URL"
        assert match["path"] == path
        refs[name] = match["ref"]
    return refs


def test_kfp_bases_are_pinned_to_one_release_tag_that_runs_bertpipe_steps():
    refs = remote_refs()
    assert len(set(refs.values())) == 1, f"both parts must use the same release: {refs}"
    ref = refs["install"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", ref), f"ref {ref!r} is not a release tag (x.y.z)"
    # 2.1.0: the driver applies platform-config tolerations; 2.3.0: step pods get writable
    # scratch volumes at /gcs, /minio, /s3, which the launcher needs in a non-root image;
    # 2.5.0: a task's retryPolicy becomes an Argo retryStrategy (kubeflow/pipelines#11673),
    # without which the Trainer is never retried after a Spot preemption.
    assert tuple(int(p) for p in ref.split(".")) >= (2, 5, 0)


def test_only_kfp_kustomizations_fetch_remote_bases():
    for path in KUBERNETES_DIR.rglob("kustomization.yaml"):
        text = path.read_text()
        if path.parent.parent.name == "kfp":
            continue
        assert "://" not in text and "?ref=" not in text, f"{path} must build offline"


def test_kfp_is_installed_into_the_bertpipe_namespace():
    assert kustomization("cluster-scoped")["namespace"] == NAMESPACE
    assert kustomization("install")["namespace"] == NAMESPACE


def _patches(name):
    return {
        (p["target"]["kind"], p["target"].get("name")): yaml.safe_load(p["patch"])
        for p in kustomization(name)["patches"]
    }


def test_install_runs_pipelines_as_the_bertpipe_runner_and_removes_pipeline_runner():
    patches = _patches("install")
    api_server = patches[("Deployment", "ml-pipeline")]["spec"]["template"]["spec"]
    env = api_server["containers"][0]["env"]
    assert env == [{"name": "DEFAULTPIPELINERUNNERSERVICEACCOUNT", "value": "bertpipe-runner"}]
    for kind, name in [
        ("ServiceAccount", "pipeline-runner"),
        ("Role", "pipeline-runner"),
        ("RoleBinding", "pipeline-runner-binding"),
    ]:
        assert patches[(kind, name)]["$patch"] == "delete"


def test_install_gives_every_run_pod_the_image_group_as_fs_group():
    # Steps run as the image's UID/GID 1000; the input-staging volume's root is root:root
    # 0755 on a fresh filesystem, writable by them only through fsGroup (image.md).
    patch = _patches("install")[("ConfigMap", "workflow-controller-configmap")]
    defaults = yaml.safe_load(patch["data"]["workflowDefaults"])
    assert defaults == {
        "spec": {"securityContext": {"fsGroup": 1000, "fsGroupChangePolicy": "OnRootMismatch"}}
    }
    assert cluster_fs_group() == 1000


@needs_kubectl
def test_the_default_runner_is_the_service_account_base_defines():
    assert one(build("base"), "ServiceAccount", "bertpipe-runner")


def test_cluster_scoped_part_leaves_the_namespace_to_base():
    patch = _patches("cluster-scoped")[("Namespace", None)]
    assert patch["$patch"] == "delete"


def test_install_sets_the_launcher_pipeline_root_from_settings():
    (replacement,) = kustomization("install")["replacements"]
    assert replacement["source"]["fieldPath"] == "data.PIPELINE_ROOT"
    assert replacement["targets"] == [
        {
            "select": {"kind": "ConfigMap", "name": "kfp-launcher"},
            "fieldPaths": ["data.defaultPipelineRoot"],
        }
    ]
    assert "../../settings" in kustomization("install")["resources"]


@pytest.fixture(scope="module")
def local_kfp_builds(tmp_path_factory):
    checkout = os.environ.get("BERTPIPE_KFP_MANIFESTS")
    if not checkout:
        pytest.skip(
            "kfp/* fetch github.com/kubeflow/pipelines, unreachable offline; set "
            "BERTPIPE_KFP_MANIFESTS to a local kubeflow/pipelines checkout at tag "
            f"{remote_refs()['install']} to build them"
        )
    if KUBECTL is None:
        pytest.skip("kubectl is not installed")
    root = tmp_path_factory.mktemp("kfp")
    shutil.copytree(KUBERNETES_DIR, root / "kubernetes")
    (root / "upstream").symlink_to(os.path.abspath(checkout), target_is_directory=True)
    builds = {}
    for name in EXPECTED_PATHS:
        path = root / "kubernetes" / "kfp" / name / "kustomization.yaml"
        path.write_text(
            re.sub(
                r"https://github\.com/kubeflow/pipelines/(manifests/kustomize/[\w/-]+)\?ref=\S+",
                r"../../../upstream/\1",
                path.read_text(),
            )
        )
        result = subprocess.run(
            [KUBECTL, "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(path.parent)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        builds[name] = [d for d in yaml.safe_load_all(result.stdout) if d]
    return builds


CLUSTER_SCOPED = {
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "PriorityClass",
    "Namespace",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
}


def test_local_kfp_build_lands_in_bertpipe_and_validates(local_kfp_builds):
    for name, objects in local_kfp_builds.items():
        assert not find(objects, "Namespace"), f"kfp/{name} must not own the namespace"
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                assert obj["metadata"]["namespace"] == NAMESPACE, obj["metadata"]["name"]
            try:
                kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                pass  # KFP's own CRD kinds (Application, ...): no bundled schema.
            except kubernetes_validate.ValidationError as e:
                pytest.fail(f"kfp/{name} {obj['kind']}/{obj['metadata']['name']}: {e.message}")


def test_local_kfp_install_uses_bertpipe_runner_and_gs_pipeline_root(local_kfp_builds):
    objects = local_kfp_builds["install"]
    api = one(objects, "Deployment", "ml-pipeline")["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "DEFAULTPIPELINERUNNERSERVICEACCOUNT", "value": "bertpipe-runner"} in api["env"]
    launcher = one(objects, "ConfigMap", "kfp-launcher")
    assert launcher["data"]["defaultPipelineRoot"] == settings()["PIPELINE_ROOT"]
    assert not [o for o in objects if o["metadata"]["name"].startswith("pipeline-runner")]


def test_local_kfp_install_has_what_the_runner_role_names(local_kfp_builds):
    objects = local_kfp_builds["install"]
    # The two objects base/runner-role.yaml grants by name.
    assert one(objects, "ConfigMap", "kfp-launcher")
    assert one(objects, "Secret", "mlpipeline-minio-artifact")
    argo = one(objects, "ConfigMap", "workflow-controller-configmap")["data"]
    repository = argo["artifactRepository"]
    assert "archiveLogs: true" in repository and "name: mlpipeline-minio-artifact" in repository
    # The fsGroup default merged into upstream's configmap, next to its own keys.
    assert yaml.safe_load(argo["workflowDefaults"])["spec"]["securityContext"]["fsGroup"] == 1000
    assert "imagePullPolicy" in argo["executor"]
    crds = {
        o["spec"]["names"]["plural"]
        for o in find(local_kfp_builds["cluster-scoped"], "CustomResourceDefinition")
    }
    assert "workflowtaskresults" in crds
