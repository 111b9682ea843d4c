"""Compile a TFX pipeline for Kubeflow Pipelines (open-source KFP 2.x) and submit it.

`compile_kubeflow` writes what `kfp.Client` uploads: a YAML file whose first document is the
PipelineSpec (schema 2.1, compiled by TFX's KubeflowV2DagRunner; no pipeline root: it is
given at submit time or comes from the cluster's `kfp-launcher` default) and whose second
document is the Kubernetes platform config that TFX cannot write:

    platforms:
      kubernetes:
        deploymentSpec:
          executors:
            Trainer_executor:            # <ComponentId>_executor
              nodeSelector: {labels: {cloud.google.com/gke-tpu-accelerator: ..., ...}}
              tolerations: [{key: google.com/tpu, operator: Exists, effect: NoSchedule}]
              genericEphemeralVolume: [{mountPath: /gcs/<bucket>, size: 200Gi, ...}]

The volumes (`deployment.kubeflow.input_staging`, pipelines/runners/input_staging.py) take
the copy of every input artifact that KFP's launcher makes under /gcs before a step
starts, so the Examples artifact does not land on the node's boot disk.

Every step gets CPU/memory requests through its ResourceSpec
(`DeploymentConfig.resources_for`); the TPU steps (the Trainer, and the evaluator with
`tpu_evaluator`) also get `google.com/tpu: <chips per host>` as a limit, beside
`tpu_host_resources`. All placement values come from `pipelines/tpu.py`, which
`kubernetes/` node pools are tested against.

What the pipeline must look like for this target (checked here, before compiling):
  - no TFX `Resolver` node: the open-source KFP backend fails such a run ("resolver
    executors not implemented"), so build the Kubeflow pipeline without one;
  - no `FileBasedExampleGen` (ImportExampleGen, CsvExampleGen): its V2 step relies on a
    `lifecycle.preCacheCheck` driver that only Vertex runs;
  - the TPU steps exist under the ids passed as `trainer_id` / `evaluator_id`;
  - the Trainer's experiment config carries `DeploymentConfig.trainer_runtime_overrides()`
    (TPU strategy, `tpu=local`, bfloat16) when a `tpu` section is set: applying them is
    the pipeline builder's job, since the experiment config is built there.
"""

from __future__ import annotations

import dataclasses

from components.errors import BertpipeError
from pipelines import deployment as deployment_lib
from pipelines.deployment import DeploymentConfig
from pipelines.runners import input_staging, kfp_v2
from pipelines.runners.kfp_v2 import SubmittedRun

TRAINER_ID = "Trainer"
EVALUATOR_ID = "MaskedLMEvaluator"
KUBERNETES_PLATFORM = "kubernetes"
_HEADER = (
    "# bertpipe pipeline {name!r} for Kubeflow Pipelines 2.x: document 1 is the PipelineSpec\n"
    "# (schema 2.1, compiled by TFX {tfx}), document 2 the Kubernetes platform config\n"
    "# (TPU node selectors and tolerations). Pipeline root: given at submit time.\n"
)


def check_kubeflow_pipeline(pipeline) -> None:
    """Raises BertpipeError for nodes the open-source KFP backend cannot run."""
    from tfx.components.example_gen.component import FileBasedExampleGen
    from tfx.dsl.components.common import resolver

    resolvers = [n.id for n in pipeline.components if isinstance(n, resolver.Resolver)]
    if resolvers:
        raise BertpipeError(
            f"pipeline {pipeline.pipeline_info.pipeline_name!r} has TFX Resolver node(s) "
            f'{resolvers}; the open-source KFP backend fails such runs ("resolver executors '
            'not implemented"). Build the Kubeflow pipeline without them (e.g. evaluate '
            "without a baseline model), or use --target vertex, which runs them."
        )
    file_based = [n.id for n in pipeline.components if isinstance(n, FileBasedExampleGen)]
    if file_based:
        raise BertpipeError(
            f"{file_based} are FileBasedExampleGen steps, whose Kubeflow V2 form needs a "
            "driver hook (lifecycle.preCacheCheck) that only Vertex runs; on open-source "
            "KFP they would run without their input resolution. Use --target vertex, or a "
            "component that is not a FileBasedExampleGen."
        )


def platform_spec(deployment: DeploymentConfig, tpu_ids, pipeline_root: str = "") -> dict:
    """The second YAML document ({} if empty): Kubernetes executor configs of the TPU steps
    (node selector, tolerations) and of the steps with an input staging volume."""
    executors = {
        kfp_v2.EXECUTOR_LABEL.format(cid): deployment.tpu.kfp_executor_config() for cid in tpu_ids
    }
    platform = {"platforms": {KUBERNETES_PLATFORM: {"deploymentSpec": {"executors": executors}}}}
    kubeflow = deployment.kubeflow
    for cid, size in sorted(kubeflow.input_staging.items()):
        volume = input_staging.staging_volume(
            pipeline_root, size, kubeflow.input_staging_storage_class
        )
        input_staging.add_staging_volume(platform, kfp_v2.EXECUTOR_LABEL.format(cid), volume)
    return platform if executors else {}


@dataclasses.dataclass(frozen=True)
class KubeflowPackage:
    """A compiled Kubeflow pipeline: the spec, the platform config, and the file text."""

    pipeline_spec: dict
    platform_spec: dict
    text: str


def compile_kubeflow(
    pipeline,
    deployment: DeploymentConfig,
    *,
    trainer_id: str = TRAINER_ID,
    evaluator_id: str | None = EVALUATOR_ID,
) -> KubeflowPackage:
    """Compiles `pipeline` into the two-document KFP YAML (the caller writes `.text`).

    Args:
      pipeline: a `tfx.dsl.Pipeline` built for this target (see the module docstring);
        its `beam_pipeline_args` should be `deployment.beam_pipeline_args()`.
      deployment: images, resources and TPU placement, already checked for Kubeflow
        (`DeploymentConfig.check_target`).
      trainer_id: component id of the Trainer.
      evaluator_id: component id of the evaluator (used with `tpu_evaluator`).

    Raises:
      BertpipeError: the pipeline cannot run on open-source KFP, or the file would hold
        a credential.
    """
    import yaml
    from tfx import version

    check_kubeflow_pipeline(pipeline)
    tpu_ids = deployment.tpu_component_ids(trainer_id, evaluator_id)
    kfp_v2.require_component_ids(pipeline, tpu_ids, "TPU step(s)")
    kfp_v2.require_component_ids(
        pipeline, list(deployment.kubeflow.input_staging), "kubeflow.input_staging step(s)"
    )
    specs = kfp_v2.step_resources(pipeline, deployment, tpu_ids)
    images = kfp_v2.component_images(pipeline, deployment, tpu_ids)
    job = kfp_v2.compile_job(pipeline, images, specs)
    kfp_v2.add_retries(job["pipelineSpec"], {trainer_id: deployment.trainer_retries})
    pipeline_spec, platform = (
        job["pipelineSpec"],
        platform_spec(deployment, tpu_ids, pipeline.pipeline_info.pipeline_root),
    )
    # The root this package was compiled for (its staging volumes and checkpoint root are
    # in that bucket): PipelineSpec's own field, which `submit_kubeflow` sends as the run's
    # root when none is given. KFP 2.5.0's backend does not read it (the driver takes the
    # run's root, else the kfp-launcher ConfigMap's: backend/src/v2/driver/driver.go:168-172).
    pipeline_spec["defaultPipelineRoot"] = pipeline.pipeline_info.pipeline_root
    header = _HEADER.format(name=pipeline.pipeline_info.pipeline_name, tfx=version.__version__)
    documents = [pipeline_spec] + ([platform] if platform else [])
    text = header + yaml.safe_dump_all(documents, sort_keys=True)
    kfp_v2.check_no_secrets(text, "the compiled Kubeflow pipeline")
    return KubeflowPackage(pipeline_spec, platform, text)


def submit_kubeflow(
    package_path: str,
    *,
    host: str,
    namespace: str | None = None,
    experiment: str = "bertpipe",
    run_name: str | None = None,
    pipeline_root: str | None = None,
    service_account: str | None = None,
    existing_token: str | None = None,
    enable_caching: bool | None = None,
) -> SubmittedRun:
    """Starts a run of a compiled package on a KFP 2.x API with `kfp.Client`.

    bertpipe first GETs /apis/v2beta1/healthz once (kfp.Client would retry a refusal for
    50 s); kfp 2.5's `create_run_from_pipeline_package` then sends its own health check
    (standalone KFP only), GET /apis/v2beta1/experiments (by name), POST
    /apis/v2beta1/experiments if it is missing, and POST /apis/v2beta1/runs with both YAML
    documents embedded (no pipeline upload).

    Args:
      package_path: the `.yaml` from `compile_kubeflow`.
      host: KFP base URL, e.g. http://localhost:8080 (kubectl port-forward).
      namespace: Kubeflow profile namespace (multi-user); None for standalone KFP.
      experiment: experiment name, created if missing.
      run_name: display name; None lets kfp name it after the file and time.
      pipeline_root: gs:// root; None = the root the package was compiled for
        (`defaultPipelineRoot`), else (an older package) the cluster's default.
      service_account: Kubernetes service account of the run's pods; None = server default.
      existing_token: bearer token for an authenticating proxy in front of the API.
      enable_caching: override the compiled caching setting of every step.

    Raises:
      BertpipeError: a bad argument, or the API could not be reached, refused the
        credentials or the permission; one line saying what to check.
    """
    import os

    if not package_path.endswith((".yaml", ".yml")) or not os.path.isfile(package_path):
        raise BertpipeError(
            f"Kubeflow package {package_path!r} must be an existing .yaml/.yml file from "
            "bertpipe compile --target kubeflow."
        )
    deployment_lib.KubeflowConfig(host=host, experiment=experiment)  # Checks the host URL.
    documents = _read_package(package_path)
    if pipeline_root is None:
        # Not the cluster's default: it may be in another bucket than the staging volumes.
        pipeline_root = documents[0].get("defaultPipelineRoot") or None
    if pipeline_root is not None:
        deployment_lib.check_pipeline_root(pipeline_root, "kubeflow")
        _check_staging_bucket(package_path, documents, pipeline_root)
    result = _call_kfp(
        host,
        namespace,
        lambda client: client.create_run_from_pipeline_package(
            package_path,
            arguments={},
            run_name=run_name,
            experiment_name=experiment,
            namespace=namespace or None,
            pipeline_root=pipeline_root,
            enable_caching=enable_caching,
            service_account=service_account or None,
        ),
        existing_token,
    )
    return SubmittedRun(result.run_id, f"{host.rstrip('/')}/#/runs/details/{result.run_id}")


def _read_package(package_path: str) -> list:
    """The package's YAML documents (PipelineSpec, then the platform config if any)."""
    import yaml

    try:
        with open(package_path, encoding="utf-8") as f:
            documents = list(yaml.safe_load_all(f))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise BertpipeError(
            f"Kubeflow package {package_path!r} cannot be read as YAML "
            f"({' '.join(str(e).split())}); compile it "
            "again with bertpipe compile --target kubeflow."
        ) from None
    if not documents or not isinstance(documents[0], dict):
        raise BertpipeError(
            f"Kubeflow package {package_path!r} holds no PipelineSpec; compile it again with "
            "bertpipe compile --target kubeflow."
        )
    return documents


def _check_staging_bucket(package_path: str, documents: list, pipeline_root: str) -> None:
    """Input staging volumes are mounted at /gcs/<bucket of the compiled root>: a run under
    another bucket would put KFP's input copies back on the node's disk."""
    platform = documents[1] if len(documents) > 1 and documents[1] else {}
    executors = (
        platform.get("platforms", {})
        .get(KUBERNETES_PLATFORM, {})
        .get("deploymentSpec", {})
        .get("executors", {})
    )
    expected = "/gcs/" + input_staging.bucket_of(pipeline_root)
    for label, executor in sorted(executors.items()):
        for volume in executor.get("genericEphemeralVolume", []):
            if volume.get("volumeName") == input_staging.VOLUME_NAME and (
                volume.get("mountPath") != expected
            ):
                raise BertpipeError(
                    f"{package_path} stages {label}'s inputs at {volume.get('mountPath')}, "
                    f"but the run's pipeline root {pipeline_root} is in another bucket; "
                    "compile it again with that pipeline_root, or submit under the compiled "
                    "root's bucket."
                )


def _call_kfp(host, namespace, call, existing_token):
    import contextlib
    import io
    import warnings

    import kfp
    import urllib3
    from kfp_server_api.exceptions import ApiException

    try:
        # kfp.Client retries a failing health check 5 times, 10 s apart, logging
        # tracebacks: one probe first turns a refusal into one clear message at once.
        _check_health(host, namespace, existing_token)
        # kfp prints links and warns about its own version; bertpipe prints the result.
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client = kfp.Client(
                host=host, namespace=namespace or "kubeflow", existing_token=existing_token
            )
            return call(client)
    except ApiException as e:
        raise BertpipeError(_api_error(e, host, namespace)) from None
    except urllib3.exceptions.HTTPError as e:
        reason = getattr(e, "reason", None) or e
        raise BertpipeError(
            f"cannot reach the KFP API at {host}: {kfp_v2.one_line(reason)}. Check --host and that "
            "the API is reachable, e.g. keep `kubectl -n bertpipe port-forward "
            "svc/ml-pipeline-ui 8080:80` running and use http://localhost:8080."
        ) from None


def _check_health(host: str, namespace: str | None, existing_token: str | None) -> None:
    """GET /apis/v2beta1/healthz once, as kfp.Client would; multi-user KFP needs a namespace."""
    import kfp_server_api

    config = kfp_server_api.Configuration(host=host.rstrip("/"))
    if existing_token:
        config.api_key["authorization"] = existing_token
        config.api_key_prefix["authorization"] = "Bearer"
    health = kfp_server_api.HealthzServiceApi(kfp_server_api.ApiClient(config)).get_healthz()
    if health.multi_user and not namespace:
        raise BertpipeError(
            f"the KFP at {host} is multi-user (Kubeflow profiles): pass the namespace of "
            "your profile (--namespace or kubeflow.namespace)."
        )


def _api_error(e, host: str, namespace: str | None) -> str:
    where = f" in namespace {namespace!r}" if namespace else ""
    if e.status == 401:
        return (
            f"the KFP API at {host} refused the request as unauthenticated (401). Check your "
            "credentials: the token for the proxy in front of KFP, or reach the API through "
            "kubectl port-forward."
        )
    if e.status == 403:
        return (
            f"permission denied by the KFP API at {host}{where} (403). Check that your "
            "identity may create experiments and runs there (Kubeflow profile "
            "contributor, or the RBAC of the proxy)."
        )
    if e.status == 404:
        return (
            f"no KFP 2.x API at {host} (404). Check --host: the base URL of the KFP UI/API "
            "(e.g. http://localhost:8080), with no path; KFP 1.x has no v2beta1 API."
        )
    detail = e.body
    try:
        import json

        parsed = json.loads(e.body)
        detail = parsed.get("message") or parsed.get("error") or e.body
    except (TypeError, ValueError, AttributeError):
        pass
    return f"the KFP API at {host} answered {e.status} {e.reason}: {kfp_v2.one_line(detail)}"
