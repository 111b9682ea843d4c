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

The TPU steps (the Trainer, and the evaluator with `tpu_evaluator`) also get
`google.com/tpu: <chips per host>` as a resource limit through their ResourceSpec; every
other step gets the configured CPU/memory requests. All placement values come from
`pipelines/tpu.py`, which `kubernetes/` node pools are tested against.

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
from pipelines.runners import kfp_v2

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


def platform_spec(deployment: DeploymentConfig, tpu_ids) -> dict:
    """The second YAML document: Kubernetes executor configs of the TPU steps ({} if none)."""
    if not tpu_ids:
        return {}
    executor_config = deployment.tpu.kfp_executor_config()
    executors = {kfp_v2.EXECUTOR_LABEL.format(cid): executor_config for cid in tpu_ids}
    return {"platforms": {KUBERNETES_PLATFORM: {"deploymentSpec": {"executors": executors}}}}


@dataclasses.dataclass(frozen=True)
class KubeflowPackage:
    """A compiled Kubeflow pipeline: the spec, the platform config, and the file text."""

    pipeline_spec: dict
    platform_spec: dict
    text: str


def compile_kubeflow(
    pipeline,
    deployment: DeploymentConfig,
    output_path: str | None = None,
    *,
    trainer_id: str = TRAINER_ID,
    evaluator_id: str | None = EVALUATOR_ID,
) -> KubeflowPackage:
    """Compiles `pipeline` into the two-document KFP YAML (written to `output_path`).

    Args:
      pipeline: a `tfx.dsl.Pipeline` built for this target (see the module docstring);
        its `beam_pipeline_args` should be `deployment.beam_pipeline_args()`.
      deployment: images, resources and TPU placement.
      output_path: where to write the YAML (`.yaml`/`.yml`, what `kfp.Client` accepts);
        None only returns it.
      trainer_id: component id of the Trainer.
      evaluator_id: component id of the evaluator (used with `tpu_evaluator`).

    Raises:
      BertpipeError: the pipeline or the deployment cannot run on open-source KFP.
    """
    import yaml
    from tfx import version

    if output_path is not None and not output_path.endswith((".yaml", ".yml")):
        raise BertpipeError(
            f"Kubeflow output {output_path!r} must end in .yaml or .yml (what kfp.Client "
            "uploads); use a .json output with --target vertex."
        )
    deployment.check_target("kubeflow")
    check_kubeflow_pipeline(pipeline)
    tpu_ids = deployment.tpu_component_ids(trainer_id, evaluator_id)
    kfp_v2.require_component_ids(pipeline, tpu_ids, "TPU step(s)")
    specs = {
        c.id: kfp_v2.resource_spec(tpu_chips=deployment.tpu.chips_per_host)
        if c.id in tpu_ids
        else kfp_v2.resource_spec(resources=deployment.resources)
        for c in kfp_v2.components(pipeline)
    }
    images = kfp_v2.component_images(pipeline, deployment, tpu_ids)
    job = kfp_v2.compile_job(pipeline, images, specs)
    pipeline_spec, platform = job["pipelineSpec"], platform_spec(deployment, tpu_ids)
    header = _HEADER.format(name=pipeline.pipeline_info.pipeline_name, tfx=version.__version__)
    documents = [pipeline_spec] + ([platform] if platform else [])
    text = header + yaml.safe_dump_all(documents, sort_keys=True)
    kfp_v2.check_no_secrets(text, "the compiled Kubeflow pipeline")
    if output_path is not None:
        with open(output_path, "w", encoding="utf-8") as f:
            f.write(text)
    return KubeflowPackage(pipeline_spec, platform, text)


def check_submit_root(pipeline_root: str | None) -> str | None:
    """A submit-time root must be gs:// too; None keeps the cluster's default root."""
    if pipeline_root is None:
        return None
    return deployment_lib.check_pipeline_root(pipeline_root, "kubeflow")
