"""Tests for `submit_kubeflow` against a local server speaking the KFP 2.x v2beta1 API."""

import json
import socket

import kfp_server_api
import pytest
import yaml

from components.errors import BertpipeError
from pipelines.runners import kubeflow
from tests.pipelines.runners import compiled
from tests.pipelines.runners.api_servers import API, EXPERIMENT_ID, RUN_ID, KfpApiServer

ROOT = "gs://my-project-bertpipe/root"  # The compiled input staging volumes' bucket.


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("submit") / "pipeline.yaml")
    compiled.compile_config("kubeflow", compiled.KUBEFLOW_CONFIG, path)
    return path


def submit(package, host, **kwargs):
    kwargs.setdefault("run_name", "nightly")
    return kubeflow.submit_kubeflow(package, host=host, pipeline_root=ROOT, **kwargs)


def test_submit_sends_what_kfp_2_5_sends_and_returns_the_run(package):
    with KfpApiServer() as api:
        run = submit(package, api.url, service_account="bertpipe-runner")
    assert [(r.method, r.path) for r in api.requests] == [
        ("GET", f"{API}/healthz"),  # bertpipe's probe, then kfp.Client's own.
        ("GET", f"{API}/healthz"),
        ("GET", f"{API}/experiments"),
        ("POST", f"{API}/experiments"),
        ("POST", f"{API}/runs"),
    ]
    lookup, created, started = api.requests[2:]
    # A filter proto as JSON; kfp spells the EQUALS operation as its enum number.
    assert json.loads(lookup.query["filter"]) == {
        "predicates": [{"operation": 1, "key": "display_name", "stringValue": "bertpipe"}]
    }
    assert created.body == {"display_name": "bertpipe", "namespace": ""}  # Single-user.
    with open(package) as f:
        spec, platform = yaml.safe_load_all(f)
    assert started.body == {
        "experiment_id": EXPERIMENT_ID,
        "display_name": "nightly",
        "pipeline_spec": {"pipeline_spec": spec, "platform_spec": platform},
        "runtime_config": {"pipeline_root": ROOT, "parameters": {}},
        "service_account": "bertpipe-runner",
    }
    assert set(started.body) <= set(kfp_server_api.V2beta1Run.attribute_map.values())
    assert run == kubeflow.SubmittedRun(RUN_ID, f"{api.url}/#/runs/details/{RUN_ID}")


def test_existing_experiment_is_reused_and_token_and_namespace_are_sent(package):
    with KfpApiServer(experiment_exists=True) as api:
        submit(package, api.url + "/", namespace="team-a", existing_token="t0k3n")
    assert [(r.method, r.path) for r in api.requests] == [
        ("GET", f"{API}/healthz"),  # kfp.Client skips its own probe given a namespace.
        ("GET", f"{API}/experiments"),
        ("POST", f"{API}/runs"),
    ]
    assert api.requests[1].query["namespace"] == "team-a"
    assert {r.headers["authorization"] for r in api.requests} == {"Bearer t0k3n"}
    assert "service_account" not in api.requests[2].body


def test_multi_user_kfp_without_a_namespace_is_refused(package):
    with KfpApiServer(multi_user=True) as api, pytest.raises(BertpipeError, match="multi-user"):
        submit(package, api.url)
    assert [(r.method, r.path) for r in api.requests] == [("GET", f"{API}/healthz")]


@pytest.mark.parametrize(
    "status,message",
    [
        (401, r"refused the request as unauthenticated \(401\)\. Check your credentials"),
        (403, r"permission denied by the KFP API at .* \(403\)\. Check that your identity"),
        (404, r"no KFP 2.x API at .* \(404\)\. Check --host"),
        (500, r"answered 500 Internal Server Error: no$"),
    ],
)
def test_api_refusals_become_one_line_messages(package, status, message):
    with KfpApiServer(error_status=status) as api, pytest.raises(BertpipeError) as raised:
        submit(package, api.url)
    assert "\n" not in str(raised.value)
    assert raised.match(message)


def test_connection_refused_names_the_host_to_check(package):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # Closed again when the block ends: nothing listens.
    with pytest.raises(BertpipeError) as raised:
        submit(package, f"http://127.0.0.1:{port}")
    assert "\n" not in str(raised.value)
    assert raised.match(rf"cannot reach the KFP API at http://127.0.0.1:{port}: .*Check --host")


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"host": "localhost:8080"}, "needs a scheme"),
        ({"pipeline_root": "minio://mlpipeline"}, "no minio:// scheme"),
        ({"package_path": "pipeline.json"}, "must be an existing .yaml/.yml file"),
    ],
)
def test_bad_arguments_fail_before_any_request(package, kwargs, message):
    with KfpApiServer() as api:
        arguments = {"package_path": package, "host": api.url, "pipeline_root": ROOT, **kwargs}
        with pytest.raises(BertpipeError, match=message):
            kubeflow.submit_kubeflow(arguments.pop("package_path"), **arguments)
    assert api.requests == []


def test_submit_without_a_root_sends_the_compiled_root(package):
    # KFP 2.5.0 would otherwise use the kfp-launcher ConfigMap's root, which may be in
    # another bucket than the staging volumes (and does not read defaultPipelineRoot).
    with open(package) as f:
        spec = next(yaml.safe_load_all(f))
    with open(compiled.KUBEFLOW_CONFIG) as f:
        compiled_root = yaml.safe_load(f)["pipeline_root"]
    assert spec["defaultPipelineRoot"] == compiled_root
    with KfpApiServer() as api:
        kubeflow.submit_kubeflow(package, host=api.url, run_name="nightly")
    started = api.requests[-1]
    assert started.body["runtime_config"] == {"pipeline_root": compiled_root, "parameters": {}}


def test_submit_of_a_package_without_a_compiled_root_leaves_the_root_to_the_cluster(
    package, tmp_path
):
    with open(package) as f:
        spec, platform = yaml.safe_load_all(f)
    del spec["defaultPipelineRoot"]
    older = tmp_path / "older.yaml"
    older.write_text(yaml.safe_dump_all([spec, platform]))
    with KfpApiServer() as api:
        kubeflow.submit_kubeflow(str(older), host=api.url, run_name="nightly")
    assert api.requests[-1].body["runtime_config"] == {"parameters": {}}


@pytest.mark.parametrize(
    "text,message",
    [
        ("pipelineInfo: [unclosed", "cannot be read as YAML"),
        ("- a list\n", "holds no PipelineSpec"),
    ],
)
def test_a_package_that_is_not_a_pipeline_spec_is_refused_in_one_line(tmp_path, text, message):
    broken = tmp_path / "broken.yaml"
    broken.write_text(text)
    with KfpApiServer() as api, pytest.raises(BertpipeError, match=message) as refused:
        kubeflow.submit_kubeflow(str(broken), host=api.url)
    assert "\n" not in str(refused.value) and str(broken) in str(refused.value)
    assert api.requests == []


def test_submit_refuses_a_root_in_another_bucket_than_the_staging_volumes(package):
    # Defect 4: the volumes are mounted at /gcs/<compiled bucket>; under another bucket
    # KFP's input copies would land on the node's disk again.
    with KfpApiServer() as api, pytest.raises(BertpipeError, match="in another bucket"):
        kubeflow.submit_kubeflow(package, host=api.url, pipeline_root="gs://other/root")
    assert api.requests == []
