"""`bertpipe submit` against local stand-ins of the KFP API and of Vertex AI (requests recorded).

Kubeflow runs in this process. Vertex runs in a fresh process, because google-auth reads the
metadata server's address when it is imported: there the stand-in also plays the GKE/GCE
metadata server, so the command finds Application Default Credentials the way it would
under Workload Identity, and nothing leaves the machine.
"""

import json
import os
import re
import subprocess
import sys

import pytest
from google.protobuf import json_format

from tests.conftest import REPO_ROOT
from tests.pipelines.runners import compiled
from tests.pipelines.runners.api_servers import (
    API,
    EXPERIMENT_ID,
    METADATA,
    RUN_ID,
    VERTEX_PROJECT_NUMBER,
    KfpApiServer,
    VertexApiServer,
)

KUBEFLOW_ROOT = "gs://my-project-bertpipe/pipeline-root"  # The example config's.


@pytest.fixture(scope="module")
def kubeflow_package(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("kfp") / "pipeline.yaml")
    compiled.compile_config("kubeflow", compiled.KUBEFLOW_CONFIG, path)
    return path


def test_kubeflow_submit_compiles_the_config_and_starts_the_run(kubeflow_package):
    with KfpApiServer() as api:
        # The config's kubeflow.host (localhost:8080) is overridden by --host.
        result = compiled.bertpipe(
            "submit",
            "--target",
            "kubeflow",
            "--config",
            compiled.KUBEFLOW_CONFIG,
            "--host",
            api.url,
            "--run-name",
            "nightly",
        )
    assert result.code == 0, result.err
    assert [(r.method, r.path) for r in api.requests] == [
        ("GET", f"{API}/healthz"),
        ("GET", f"{API}/healthz"),
        ("GET", f"{API}/experiments"),
        ("POST", f"{API}/experiments"),
        ("POST", f"{API}/runs"),
    ]
    assert api.requests[3].body == {"display_name": "bertpipe", "namespace": ""}  # The config's.
    spec, platform = compiled.documents(kubeflow_package)  # What `bertpipe compile` writes.
    assert api.requests[4].body == {
        "experiment_id": EXPERIMENT_ID,
        "display_name": "nightly",
        "pipeline_spec": {"pipeline_spec": spec, "platform_spec": platform},
        "runtime_config": {"pipeline_root": KUBEFLOW_ROOT, "parameters": {}},
    }
    lines = result.out.splitlines()
    assert lines[0] == "bertpipe: compiled bertpipe-base for kubeflow"
    assert lines[-2:] == [
        f"bertpipe: submitted run {RUN_ID}",
        f"  {api.url}/#/runs/details/{RUN_ID}",
    ]


def test_kubeflow_submit_sends_a_package_with_the_flags(kubeflow_package):
    with KfpApiServer(experiment_exists=True) as api:
        result = compiled.bertpipe(
            "submit",
            "--target",
            "kubeflow",
            "--package",
            kubeflow_package,
            "--host",
            api.url,
            "--namespace",
            "team-a",
            "--experiment",
            "bertpipe",
            "--pipeline-root",
            "gs://my-project-bertpipe/other-root",
            "--service-account",
            "bertpipe-runner",
        )
    assert result.code == 0, result.err
    assert not result.out.startswith("bertpipe: compiled")  # Sent as it is.
    lookup, started = api.requests[1:]
    assert lookup.query["namespace"] == "team-a"
    assert started.body["runtime_config"]["pipeline_root"] == "gs://my-project-bertpipe/other-root"
    assert started.body["service_account"] == "bertpipe-runner"


@pytest.mark.parametrize(
    "args,message",
    [
        (["--target", "kubeflow"], "submit needs --config FILE .* or --package FILE"),
        (["--target", "kubeflow", "--package", "{kfp}"], "no KFP host: pass --host"),
        (
            [
                "--target",
                "kubeflow",
                "--config",
                "{kfp_config}",
                "--set",
                "deployment.kubeflow.host=",
            ],
            "no KFP host: pass --host",
        ),
        (
            ["--target", "kubeflow", "--package", "{kfp}", "--set", "a=1"],
            "--set changes the config before compiling; with --package nothing is compiled",
        ),
        (
            [
                "--target",
                "kubeflow",
                "--package",
                "{kfp}",
                "--host",
                "http://127.0.0.1:9",
                "--pipeline-root",
                "/tmp/r",
            ],
            "pipeline root '/tmp/r' cannot be used for kubeflow",
        ),
        (
            ["--target", "vertex", "--package", "{vertex}"],
            "Vertex needs a project and a region: pass --project and --region",
        ),
        (
            [
                "--target",
                "vertex",
                "--package",
                "{vertex}",
                "--project",
                "other",
                "--region",
                "europe-west4",
            ],
            r"compiled to run its Trainer job in project 'my-project', region 'us-central1', "
            r"but the run goes to project 'other', region 'europe-west4'; recompile",
        ),
    ],
)
def test_submit_refuses_before_any_request(kubeflow_package, vertex_package, args, message):
    paths = {"kfp": kubeflow_package, "vertex": vertex_package}
    args = [a.format(kfp_config=compiled.KUBEFLOW_CONFIG, **paths) for a in args]
    result = compiled.bertpipe("submit", *args)
    assert result.code == 2 and result.out == ""  # Not even compiled.
    (line,) = result.err.splitlines()
    assert re.search(message, line), line


@pytest.fixture(scope="module")
def vertex_package(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("vertex") / "pipeline.json")
    compiled.compile_config("vertex", compiled.VERTEX_CONFIG, path)
    return path


def test_vertex_submit_compiles_with_the_flags_and_creates_the_pipeline_job(tmp_path):
    from google.cloud.aiplatform_v1.types import PipelineJob

    with VertexApiServer() as api:
        host = api.url.removeprefix("http://")
        env = {k: v for k, v in os.environ.items() if k != "GOOGLE_APPLICATION_CREDENTIALS"}
        env.update(
            PYTHONPATH=str(REPO_ROOT),
            CLOUDSDK_CONFIG=str(tmp_path),  # No gcloud credentials: the metadata server's.
            GCE_METADATA_HOST=host,
            GCE_METADATA_IP=host,
            STORAGE_EMULATOR_HOST=api.url,
        )
        command = [sys.executable, "-m", "pipelines.cli", "submit", "--target", "vertex"]
        command += ["--config", compiled.VERTEX_CONFIG, "--project", "team-project"]
        command += ["--region", "europe-west4", "--run-name", "nightly"]
        command += ["--api-endpoint", api.url, "--api-transport", "rest"]
        result = subprocess.run(
            command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
        )
    assert result.returncode == 0, result.stderr[-3000:]
    calls = [(r.method, r.path) for r in api.requests]
    credentials = [c for c in calls if c[1] == "/" or c[1].startswith(METADATA)]
    assert ("GET", f"{METADATA}instance/service-accounts/default/token") in credentials
    assert [c for c in calls if c not in credentials] == [
        ("GET", "/storage/v1/b/my-project-bertpipe"),  # The compiled root's bucket.
        ("POST", "/storage/v1/b"),
        ("GET", "/storage/v1/b/my-project-bertpipe/iam"),
        ("PUT", "/storage/v1/b/my-project-bertpipe/iam"),
        ("POST", "/v1/projects/team-project/locations/europe-west4/pipelineJobs"),
    ]
    create = api.requests[-1]
    assert create.headers["authorization"] == "Bearer stand-in"  # The metadata server's token.
    job = json_format.ParseDict(create.body, PipelineJob.pb(PipelineJob()))  # Strict.
    assert job.display_name == "nightly"
    assert job.service_account == "bertpipe-runner@my-project.iam.gserviceaccount.com"
    assert job.runtime_config.gcs_output_directory == "gs://my-project-bertpipe/vertex-root"
    # --project/--region were applied before compiling: the TPU job goes where the run goes.
    parameters = create.body["pipelineSpec"]["root"]["dag"]["tasks"]["Trainer"]["inputs"]
    custom = json.loads(parameters["parameters"]["custom_config"]["runtimeValue"]["constant"])
    assert custom["ai_platform_training_args"]["project"] == "team-project"
    assert custom["ai_platform_vertex_region"] == "europe-west4"
    lines = result.stdout.splitlines()
    assert lines[0] == "bertpipe: compiled bertpipe-base-vertex for vertex"
    assert lines[-2].startswith("bertpipe: submitted run ")
    assert lines[-1] == (
        "  https://console.cloud.google.com/vertex-ai/locations/europe-west4/pipelines/runs/"
        f"{lines[-2].split()[-1]}?project={VERTEX_PROJECT_NUMBER}"
    )
