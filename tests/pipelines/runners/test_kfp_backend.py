"""What `bertpipe compile --target kubeflow` writes is what the pinned KFP backend accepts.

kubernetes/kfp pins Kubeflow Pipelines 2.5.0. Its API server and Argo compiler read the
compiled file as follows (kubeflow/pipelines at tag 2.5.0):

  - backend/src/apiserver/template/v2_template.go:186 `protojson.Unmarshal` of the
    PipelineSpec (strict: an undeclared field fails the upload), :190 schemaVersion must be
    2.1.0, :193-197 the pipeline name must be set and DNS-like, :214 the platform config
    also through protojson;
  - backend/src/v2/compiler/argocompiler/container.go:329 the executor template's
    `RetryStrategy` from `getTaskRetryStrategy` (:520-551): `MaxRetryCount` as the limit,
    `backoffDuration.Seconds` (whole seconds), `int32(backoffFactor)` (a fraction would be
    truncated) and `backoffMaxDuration` as Argo's maxDuration;
  - backend/src/v2/driver/driver.go:505-590 `initPodSpecPatch`: memory/CPU limits and
    requests from `memoryLimit`/`memoryRequest` ("%vG") and `cpuLimit`/`cpuRequest`, the
    accelerator from `accelerator.type` and `accelerator.count`.

The first tests check those fields on the compiled example for both layouts (TPU and CPU);
with BERTPIPE_KFP_SOURCE pointing at a kubeflow/pipelines checkout at the pinned tag, the
documents are also checked field by field against that tag's own protos (proto_fields.py)
and the cited source lines are checked to still say what is cited.
"""

from __future__ import annotations

import os
import pathlib
import re

import pytest
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from tests.pipelines.runners import compiled, golden, proto_fields

PINNED = "2.5.0"
KUBEFLOW_CASES = [c for c in golden.CASES if c.target == "kubeflow"]
# The ResourceSpec fields KFP 2.5.0's driver reads (driver.go:505-590).
DRIVER_RESOURCE_FIELDS = {"cpuRequest", "cpuLimit", "memoryRequest", "memoryLimit", "accelerator"}


@pytest.fixture(scope="module", params=KUBEFLOW_CASES, ids=lambda case: case.name)
def documents(request, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("kfp") / request.param.name)
    result = compiled.bertpipe(*request.param.args(path))
    assert result.code == 0, result.err
    docs = compiled.documents(path)
    return docs[0], (docs[1] if len(docs) > 1 else None)


def test_pipeline_spec_passes_the_api_servers_checks(documents):
    spec, _ = documents
    json_format.ParseDict(spec, pipeline_spec_pb2.PipelineSpec())  # Strict, like protojson.
    assert spec["schemaVersion"] == "2.1.0"
    name = spec["pipelineInfo"]["name"]
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", name)
    assert spec["root"]["dag"]["tasks"]


def test_trainer_retry_policy_is_what_the_argo_compiler_turns_into_a_retry_strategy(documents):
    spec, _ = documents
    policy = spec["root"]["dag"]["tasks"]["Trainer"]["retryPolicy"]
    parsed = json_format.ParseDict(policy, pipeline_spec_pb2.PipelineTaskSpec.RetryPolicy())
    assert parsed.max_retry_count == 3
    assert (parsed.backoff_duration.seconds, parsed.backoff_duration.nanos) == (60, 0)
    assert parsed.backoff_factor == int(parsed.backoff_factor) == 2
    assert not parsed.HasField("backoff_max_duration")


def test_every_step_sets_only_resource_fields_the_driver_applies(documents):
    spec, _ = documents
    for executor in spec["deploymentSpec"]["executors"].values():
        resources = executor["container"]["resources"]
        assert set(resources) <= DRIVER_RESOURCE_FIELDS
        assert resources["cpuRequest"] > 0 and resources["memoryRequest"] > 0
        if "accelerator" in resources:
            assert set(resources["accelerator"]) == {"type", "count"}


@pytest.fixture(scope="module")
def source():
    checkout = os.environ.get("BERTPIPE_KFP_SOURCE")
    if not checkout:
        pytest.skip(
            "set BERTPIPE_KFP_SOURCE to a kubeflow/pipelines checkout at tag "
            f"{PINNED} to check the compiled files against its protos and source"
        )
    return pathlib.Path(checkout)


def test_documents_use_only_fields_the_pinned_backends_protos_declare(documents, source):
    spec, platform = documents
    pipeline_proto = (source / "api" / "v2alpha1" / "pipeline_spec.proto").read_text()
    assert proto_fields.unknown_fields(spec, pipeline_proto, "PipelineSpec") == []
    if platform is None:
        return
    assert proto_fields.unknown_fields(platform, pipeline_proto, "PlatformSpec") == []
    kubernetes_proto = (
        source / "kubernetes_platform" / "proto" / "kubernetes_executor_config.proto"
    ).read_text()
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    for config in executors.values():
        unknown = proto_fields.unknown_fields(config, kubernetes_proto, "KubernetesExecutorConfig")
        assert unknown == []


def test_field_checker_names_a_field_the_proto_lacks(source):
    pipeline_proto = (source / "api" / "v2alpha1" / "pipeline_spec.proto").read_text()
    document = {"root": {"dag": {"tasks": {"T": {"retryPolicy": {"maxRetries": 3}}}}}}
    assert proto_fields.unknown_fields(document, pipeline_proto, "PipelineSpec") == [
        "root.dag.tasks.retryPolicy.maxRetries"
    ]


def _lines(path: pathlib.Path, first: int, last: int) -> str:
    return "".join(path.read_text().splitlines(True)[first - 1 : last])


def test_cited_backend_lines_say_what_is_cited(source):
    backend = source / "backend" / "src"
    template = backend / "apiserver" / "template" / "v2_template.go"
    assert "protojson.Unmarshal(jsonData, &spec)" in _lines(template, 186, 186)
    assert "SCHEMA_VERSION_2_1_0" in _lines(template, 190, 190)
    assert "protojson.Unmarshal(platformSpecJson, &platformSpec)" in _lines(template, 214, 214)
    container = backend / "v2" / "compiler" / "argocompiler" / "container.go"
    assert "RetryStrategy: c.getTaskRetryStrategy(name)" in _lines(container, 329, 329)
    strategy = _lines(container, 520, 551)
    for read in (
        "retryPolicy.GetBackoffDuration()",
        "backoffDuration.Seconds",
        "retryPolicy.GetBackoffMaxDuration()",
        "MaxDuration: argoMaxDuration",
        "int32(retryPolicy.GetBackoffFactor())",
        "retryPolicy.MaxRetryCount",
    ):
        assert read in strategy, read
    driver = _lines(backend / "v2" / "driver" / "driver.go", 505, 590)
    for read in (
        "GetMemoryLimit()",
        "GetMemoryRequest()",
        "GetCpuLimit()",
        "GetCpuRequest()",
        "accelerator.GetType()",
        "accelerator.Count",
    ):
        assert read in driver, read
