"""Compile a TFX pipeline for Vertex AI Pipelines and submit it; the Vertex TPU Trainer.

`compile_vertex` writes a PipelineJob JSON (what `aiplatform.PipelineJob(template_path=...)`
loads) with the `gs://` pipeline root kept in `runtimeConfig.gcsOutputDirectory`. On Vertex
the pipeline's steps run on Vertex-chosen CPU machines (sized by the `resources` limits);
training on TPU goes through TFX's `tfx.extensions.google_cloud_ai_platform.Trainer`, whose
step launches a Vertex CustomJob that runs the same `run_fn` on a TPU VM worker pool:
`vertex_trainer_custom_config` builds that job from the `tpu` section
(`TpuConfig.vertex_worker_pool_spec(image)` + Spot scheduling) and `check_training_job`
parses it into the `CustomJob` proto Vertex accepts.

What the pipeline must look like for this target:
  - with a `tpu` section, the Trainer (id `trainer_id`) is
    `tfx.extensions.google_cloud_ai_platform.Trainer` (`trainer_spec(deployment, ...)`,
    the `TrainerSpec` given to `create_pipeline`) with the experiment overrides of
    `DeploymentConfig.trainer_runtime_overrides()`;
  - Resolver nodes are allowed (Vertex runs them); the evaluator stays on CPU.
"""

from __future__ import annotations

import dataclasses
import json

from components.errors import BertpipeError
from pipelines import deployment as deployment_lib
from pipelines.deployment import DeploymentConfig
from pipelines.pipeline import TrainerSpec
from pipelines.runners import kfp_v2

TRAINER_ID = "Trainer"
TRAINING_JOB_NAME = "bertpipe-trainer"


def _gcai():
    from tfx.v1.extensions import google_cloud_ai_platform

    return google_cloud_ai_platform


def vertex_trainer_custom_config(
    deployment: DeploymentConfig, *, base: dict | None = None, trainer_id: str = TRAINER_ID
) -> dict:
    """`custom_config` of the Vertex Trainer extension: a TPU CustomJob for the `run_fn`.

    Args:
      deployment: needs `tpu`, `vertex.project` and `vertex.region`.
      base: the trainer's own `custom_config` (what `run_fn` reads as
        `fn_args.custom_config`); kept, and must not use the extension's keys.
      trainer_id: the Trainer's component id (picks its image override, if any).
    """
    gcai = _gcai()
    if deployment.tpu is None:
        raise BertpipeError(
            "the Vertex TPU Trainer needs a tpu section (accelerator, topology); without one "
            "use the standard Trainer, which trains on the step's CPU machine."
        )
    if not deployment.vertex.project:
        raise BertpipeError("vertex.project is empty; the Vertex training job needs one.")
    keys = (gcai.ENABLE_VERTEX_KEY, gcai.VERTEX_REGION_KEY, gcai.TRAINING_ARGS_KEY)
    clash = sorted(set(base or {}) & set(keys))
    if clash:
        raise BertpipeError(f"trainer custom_config must not set {clash}; bertpipe sets them.")
    image = deployment.images.for_component(trainer_id, on_tpu=True)
    job_spec: dict = {"worker_pool_specs": [deployment.tpu.vertex_worker_pool_spec(image)]}
    scheduling = deployment.tpu.vertex_scheduling()
    if scheduling:
        job_spec["scheduling"] = scheduling
    if deployment.vertex.service_account:
        job_spec["service_account"] = deployment.vertex.service_account
    return {
        **(base or {}),
        gcai.ENABLE_VERTEX_KEY: True,
        gcai.VERTEX_REGION_KEY: deployment.vertex.region,
        # `project` rides along in the training args; the extension pops it before
        # sending the CustomJob.
        gcai.TRAINING_ARGS_KEY: {"project": deployment.vertex.project, "job_spec": job_spec},
    }


def check_training_job(custom_config: dict):
    """Parses the CustomJob the Vertex Trainer will send into `aiplatform_v1.CustomJob`.

    Raises:
      BertpipeError: the training args are missing or not a valid CustomJob.
    """
    from google.cloud import aiplatform_v1

    args = dict(custom_config.get(_gcai().TRAINING_ARGS_KEY) or {})
    if "job_spec" not in args or "project" not in args:
        raise BertpipeError(
            "trainer custom_config has no Vertex training args (project, job_spec)."
        )
    try:
        return aiplatform_v1.CustomJob(display_name=TRAINING_JOB_NAME, job_spec=args["job_spec"])
    except (ValueError, TypeError) as e:
        raise BertpipeError(f"the Vertex training job spec is not a valid CustomJob: {e}") from None


def _trainer_custom_config(pipeline, trainer_id: str) -> dict:
    node = next(n for n in pipeline.components if n.id == trainer_id)
    gcai = _gcai()
    if not isinstance(node, gcai.Trainer):
        raise BertpipeError(
            f"component {trainer_id!r} is a {type(node).__name__}, but a Vertex pipeline with "
            "a tpu section must train with tfx.extensions.google_cloud_ai_platform.Trainer "
            "(custom_config=vertex_trainer_custom_config(...)), which launches the TPU job."
        )
    raw = node.exec_properties.get("custom_config")
    return json.loads(raw) if isinstance(raw, str) else dict(raw or {})


@dataclasses.dataclass(frozen=True)
class VertexPackage:
    """A compiled Vertex pipeline: the PipelineJob dict and the JSON file text."""

    job: dict
    text: str


def trainer_spec(deployment: DeploymentConfig, run_fn_config: dict) -> TrainerSpec:
    """The Trainer step of a Vertex pipeline with a `tpu` section: TFX's Vertex Trainer
    extension, whose step starts the TPU CustomJob that runs `run_fn`."""
    return TrainerSpec(
        custom_config=vertex_trainer_custom_config(deployment, base=run_fn_config),
        component=_gcai().Trainer,
    )


def compile_vertex(pipeline, deployment: DeploymentConfig, *, trainer_id: str = TRAINER_ID):
    """Compiles `pipeline` into a Vertex PipelineJob (the caller writes `.text`).

    Args:
      pipeline: a `tfx.dsl.Pipeline` built for this target (see the module docstring).
      deployment: images, resources, TPU and Vertex sections, already checked for Vertex
        (`DeploymentConfig.check_target`).
      trainer_id: component id of the Trainer.

    Raises:
      BertpipeError: a TPU section without the Vertex Trainer, an invalid job spec, or a
        credential in the file.
    """
    kfp_v2.require_component_ids(pipeline, [trainer_id], "Trainer")
    if deployment.tpu is not None:
        check_training_job(_trainer_custom_config(pipeline, trainer_id))
    specs = kfp_v2.step_resources(pipeline, deployment, limits_only=True)
    job = kfp_v2.compile_job(pipeline, kfp_v2.component_images(pipeline, deployment), specs)
    kfp_v2.add_retries(job["pipelineSpec"], {trainer_id: deployment.trainer_retries})
    kfp_v2.check_no_secrets(json.dumps(job), "the compiled Vertex pipeline")
    return VertexPackage(job, json.dumps(job, sort_keys=True, indent=1))


def _check_template(template_path: str) -> None:
    import os

    if not template_path.endswith(".json") or not os.path.isfile(template_path):
        raise BertpipeError(
            f"Vertex template {template_path!r} must be an existing .json file from "
            "bertpipe compile --target vertex."
        )


def check_package_matches(template_path: str, *, project: str, region: str) -> None:
    """Raises BertpipeError when the template's TPU training job targets another project or
    region than the run: both are compiled into the Trainer's custom_config, so the job
    would start where the file says, not where the run goes."""
    _check_template(template_path)
    gcai = _gcai()
    with open(template_path, encoding="utf-8") as f:
        tasks = json.load(f)["pipelineSpec"]["root"]["dag"]["tasks"]
    for name, task in sorted(tasks.items()):
        raw = task.get("inputs", {}).get("parameters", {}).get("custom_config")
        value = (raw or {}).get("runtimeValue", {}).get("constant")
        custom = json.loads(value) if isinstance(value, str) and value else None
        if not isinstance(custom, dict) or gcai.TRAINING_ARGS_KEY not in custom:
            continue
        compiled = (
            custom[gcai.TRAINING_ARGS_KEY].get("project"),
            custom.get(gcai.VERTEX_REGION_KEY),
        )
        if compiled != (project, region):
            raise BertpipeError(
                f"{template_path} was compiled to run its {name} job in project "
                f"{compiled[0]!r}, region {compiled[1]!r}, but the run goes to project "
                f"{project!r}, region {region!r}; recompile with that project and region "
                "(bertpipe submit --config compiles with them)."
            )


def submit_vertex(
    template_path: str,
    *,
    project: str,
    region: str,
    pipeline_root: str | None = None,
    service_account: str | None = None,
    display_name: str | None = None,
    job_id: str | None = None,
    enable_caching: bool | None = None,
    credentials=None,
    api_endpoint: str | None = None,
    api_transport: str = "grpc",
):
    """Submits a compiled PipelineJob JSON to Vertex AI Pipelines; returns its id and URL.

    Args:
      template_path: the `.json` from `compile_vertex`.
      project, region: where the run goes.
      pipeline_root: gs:// root overriding the compiled one.
      service_account: identity of the run (its steps and the TPU training job);
        the submitter needs `iam.serviceAccounts.actAs` on it.
      display_name: run name in the console; default: the pipeline name.
      job_id: run id; default: Vertex derives one from the name and time.
      enable_caching: override the compiled caching setting of every step.
      credentials: google.auth credentials; None = Application Default Credentials.
      api_endpoint, api_transport: a non-default Vertex endpoint (e.g. Private Service
        Connect) and transport (`grpc` or `rest`); None keeps the regional endpoint.

    Raises:
      BertpipeError: a bad argument, missing credentials, a refused permission, or an
        unreachable endpoint; one line saying what to check.
    """
    _check_template(template_path)
    if pipeline_root is not None:
        deployment_lib.check_pipeline_root(pipeline_root, "vertex")
    with open(template_path, encoding="utf-8") as f:
        name = json.load(f)["pipelineSpec"]["pipelineInfo"]["name"]
    kwargs = {
        "display_name": display_name or name,
        "template_path": template_path,
        "job_id": job_id,
        "pipeline_root": pipeline_root,
        "enable_caching": enable_caching,
        "project": project,
        "location": region,
        "credentials": credentials,
    }

    def create_and_submit(aiplatform):
        if api_endpoint:
            aiplatform.init(api_endpoint=api_endpoint, api_transport=api_transport)
        job = aiplatform.PipelineJob(**kwargs)
        job.submit(service_account=service_account or None)
        return job

    job = _call_vertex(project, region, create_and_submit)
    # resource_name: projects/<number>/locations/<region>/pipelineJobs/<id>
    _, project_number, _, location, _, run_id = job.resource_name.split("/")
    url = (
        f"https://console.cloud.google.com/vertex-ai/locations/{location}/pipelines/runs/"
        f"{run_id}?project={project_number}"
    )
    return kfp_v2.SubmittedRun(run_id, url)


def _call_vertex(project: str, region: str, call):
    import contextlib
    import io
    import logging
    import warnings

    from google.api_core import exceptions as api
    from google.auth import exceptions as auth
    from google.cloud import aiplatform

    where = f"project {project!r}, region {region!r}"
    # aiplatform logs a traceback when its best-effort bucket check fails, and prints
    # progress; bertpipe reports the outcome in one line instead.
    quiet = _DropTracebacks()
    loggers = [logging.getLogger(f"google.cloud.aiplatform.{m}") for m in ("base", "pipeline_jobs")]
    for logger in loggers:
        logger.addFilter(quiet)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call(aiplatform)
    except auth.DefaultCredentialsError:
        message = (
            "no Google Cloud credentials found: run `gcloud auth application-default "
            "login`, set GOOGLE_APPLICATION_CREDENTIALS, or run where Workload Identity "
            "provides them."
        )
    except auth.GoogleAuthError as e:
        message = (
            f"Google Cloud credentials were refused ({kfp_v2.one_line(e)}): refresh them with "
            "`gcloud auth application-default login`."
        )
    except api.Unauthorized:
        message = (
            f"Vertex AI rejected the credentials for {where} (401): check which account is active."
        )
    except api.Forbidden as e:
        message = (
            f"permission denied by Vertex AI in {where} (403: {kfp_v2.one_line(e)}). Check that "
            "your account has roles/aiplatform.user and may act as the run's service "
            "account (roles/iam.serviceAccountUser), and that the Vertex AI API is enabled."
        )
    except api.NotFound as e:
        message = (
            f"Vertex AI found no {where} ({kfp_v2.one_line(e)}): check the project id and region."
        )
    except api.BadRequest as e:
        message = f"Vertex AI rejected the pipeline in {where}: {kfp_v2.one_line(e)}"
    except (api.GoogleAPIError, OSError) as e:
        message = (
            f"cannot reach Vertex AI for {where} ({kfp_v2.one_line(e)}): check the region, the "
            "network and the API endpoint."
        )
    finally:
        for logger in loggers:
            logger.removeFilter(quiet)
    raise BertpipeError(message)


class _DropTracebacks:
    def filter(self, record) -> bool:
        record.exc_info, record.exc_text = None, None
        return True
