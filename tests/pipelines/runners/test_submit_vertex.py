"""Tests for `submit_vertex` against a local server speaking Vertex AI's REST API."""

import json
import os
import subprocess
import sys

import pytest
from google.auth.credentials import Credentials
from google.protobuf import json_format

from components.errors import BertpipeError
from pipelines.runners import kubeflow, vertex
from tests.conftest import REPO_ROOT
from tests.pipelines.runners import compiled
from tests.pipelines.runners.api_servers import VERTEX_PROJECT_NUMBER, VertexApiServer

OTHER_ROOT = "gs://b/other-root"
SA = "bertpipe-runner@my-project.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("vertex") / "pipeline.json")
    compiled.compile_config("vertex", compiled.VERTEX_CONFIG, path)
    return path


@pytest.fixture
def vertex_api(monkeypatch):
    from google.cloud.aiplatform import initializer

    with VertexApiServer() as api:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", api.url)
        yield api
    initializer.global_config.__init__()  # Forget the test endpoint.


class LocalToken(Credentials):
    """Credentials that refresh without a network (anonymous ones refuse to refresh, which
    the transport does once on a 401 before it reports it)."""

    def refresh(self, request):
        self.token = "stand-in"


def submit(template, api, **kwargs):
    return vertex.submit_vertex(
        template,
        project="p",
        region="us-central1",
        credentials=LocalToken(),
        api_endpoint=api.url,
        api_transport="rest",
        **kwargs,
    )


def test_submit_creates_the_pipeline_job_and_returns_id_and_url(template, vertex_api):
    from google.cloud.aiplatform_v1.types import PipelineJob

    run = submit(
        template,
        vertex_api,
        pipeline_root=OTHER_ROOT,
        service_account=SA,
        job_id="nightly-1",
    )
    assert [(r.method, r.path) for r in vertex_api.requests] == [
        ("GET", "/storage/v1/b/b"),  # The root's bucket: missing, so aiplatform creates it
        ("POST", "/storage/v1/b"),  # and lets the run's service account use it.
        ("GET", "/storage/v1/b/b/iam"),
        ("PUT", "/storage/v1/b/b/iam"),
        ("POST", "/v1/projects/p/locations/us-central1/pipelineJobs"),
    ]
    grants = {b["role"]: b["members"] for b in vertex_api.requests[3].body["bindings"]}
    assert grants == {
        "roles/storage.objectCreator": [f"serviceAccount:{SA}"],
        "roles/storage.objectViewer": [f"serviceAccount:{SA}"],
    }
    create = vertex_api.requests[-1]
    assert (create.method, create.path) == (
        "POST",
        "/v1/projects/p/locations/us-central1/pipelineJobs",
    )
    assert create.query["pipelineJobId"] == "nightly-1"
    job = json_format.ParseDict(create.body, PipelineJob.pb(PipelineJob()))  # Strict.
    assert job.display_name == "bertpipe-base-vertex" and job.service_account == SA
    assert job.runtime_config.gcs_output_directory == OTHER_ROOT
    with open(template) as f:
        compiled = json.load(f)
    assert (
        create.body["pipelineSpec"]["deploymentSpec"] == compiled["pipelineSpec"]["deploymentSpec"]
    )
    assert run == kubeflow.SubmittedRun(
        "nightly-1",
        "https://console.cloud.google.com/vertex-ai/locations/us-central1/pipelines/runs/"
        f"nightly-1?project={VERTEX_PROJECT_NUMBER}",
    )


@pytest.mark.parametrize(
    "status,message",
    [
        (401, r"rejected the credentials for project 'p', region 'us-central1' \(401\)"),
        (403, r"permission denied by Vertex AI in project 'p'.*roles/aiplatform.user"),
        (404, r"Vertex AI found no project 'p', region 'us-central1'"),
        (400, r"Vertex AI rejected the pipeline in project 'p'.*stand-in refusal"),
    ],
)
def test_refusals_become_one_line_messages(template, status, message):
    from google.cloud.aiplatform import initializer

    with VertexApiServer(error_status=status) as api, pytest.MonkeyPatch.context() as env:
        env.setenv("STORAGE_EMULATOR_HOST", api.url)
        with pytest.raises(BertpipeError) as raised:
            submit(template, api, service_account=SA)
    initializer.global_config.__init__()
    assert "\n" not in str(raised.value)
    assert raised.match(message)


def test_missing_credentials_say_how_to_get_them(template, tmp_path):
    # A fresh process: google-auth reads the metadata-server address when it is imported,
    # so the probe for GCE credentials goes to a closed local port, never off the machine.
    script = (
        "import sys\nfrom pipelines.runners import vertex\n"
        "try:\n    vertex.submit_vertex(sys.argv[1], project='p', region='us-central1')\n"
        "except Exception as e:\n    print(type(e).__name__, e)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "GOOGLE_APPLICATION_CREDENTIALS"}
    env.update(
        PYTHONPATH=str(REPO_ROOT),
        CLOUDSDK_CONFIG=str(tmp_path),
        GCE_METADATA_IP="127.0.0.1:9",
        GCE_METADATA_HOST="127.0.0.1:9",
    )
    result = subprocess.run(
        [sys.executable, "-c", script, template],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.stdout.strip() == (
        "BertpipeError no Google Cloud credentials found: run `gcloud auth "
        "application-default login`, set GOOGLE_APPLICATION_CREDENTIALS, or run where "
        "Workload Identity provides them."
    )


@pytest.mark.parametrize(
    "path,kwargs,message",
    [
        ("pipeline.yaml", {}, "must be an existing .json file"),
        (None, {"pipeline_root": "/local/root"}, "cannot see this machine's disk"),
    ],
)
def test_bad_arguments_fail_before_any_request(template, path, kwargs, message):
    with pytest.raises(BertpipeError, match=message):
        vertex.submit_vertex(path or template, project="p", region="us-central1", **kwargs)
