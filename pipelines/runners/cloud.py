"""Compile a `PipelineConfig` for Kubeflow Pipelines or Vertex AI Pipelines.

The one compile path `bertpipe compile` and `bertpipe submit` share, in three steps:

  1. `check_config(config, target, output_path)`: every check that depends on where the
     pipeline goes, once, at the command boundary (file suffix, gs:// locations, images,
     Vertex project, baseline, Beam options); nothing after it re-checks the target;
  2. `build_pipeline(config, target)`: the target's pieces (Trainer spec, baseline
     wiring, Beam args) handed to `create_pipeline`, which knows no target;
  3. `compile_pipeline(pipeline, config, target)`: the compilers in `kubeflow.py` /
     `vertex.py` (pipeline -> document); `write` puts the document in a file.

On a cloud target every step runs in a pod or a Vertex machine, so every location in the
config must be one those machines can read and write: Cloud Storage. `bertpipe run`
resolves `sample:` corpora and local globs on this machine (`config.resolve_corpus`); a
pod cannot, so here they are refused with how to upload them, and nothing is globbed
(this machine may hold no Google Cloud credentials; the steps check their inputs when they
run).
"""

from __future__ import annotations

import dataclasses

from components.errors import BertpipeError
from components.evaluator.resolver import baseline_wiring
from components.vocabulary import BERT_BASE_UNCASED
from pipelines import deployment as deployment_lib
from pipelines.config import SAMPLE_PREFIX, PipelineConfig
from pipelines.pipeline import TrainerSpec, create_pipeline, trainer_custom_config
from pipelines.runners import kubeflow, resume, vertex

TARGETS = deployment_lib.TARGETS
SUFFIXES = {"kubeflow": (".yaml", ".yml"), "vertex": (".json",)}
REMOTE_PREFIX = "gs://"


@dataclasses.dataclass(frozen=True)
class CompiledPipeline:
    """What a compile produced: the document, its steps and where they run.

    Attributes:
      target: `kubeflow` or `vertex`.
      pipeline_name: the pipeline's name.
      steps: component ids of the steps, in the config's order.
      tpu_steps: ids of the steps that run on the TPU slice (Kubeflow: placed on the node
        pool; Vertex: the Trainer, as a TPU CustomJob).
      document: the PipelineSpec (Kubeflow) or PipelineJob (Vertex) as a dict.
      platform_spec: Kubeflow's second YAML document ({} without TPU steps; {} on Vertex).
      text: the file's content (what `write` writes).
    """

    target: str
    pipeline_name: str
    steps: tuple[str, ...]
    tpu_steps: tuple[str, ...]
    document: dict
    platform_spec: dict
    text: str


def check_config(config: PipelineConfig, target: str, output_path: str | None = None) -> None:
    """Raises BertpipeError unless `config` can be compiled for and run on `target`.

    The single validation of the compile path (see the module docstring).

    Args:
      config: the loaded config.
      target: `kubeflow` or `vertex`.
      output_path: the file to write, if any (its suffix must be what `target` submits).
    """
    if target not in TARGETS:
        raise BertpipeError(f"target must be one of {list(TARGETS)}, got {target!r}.")
    if output_path is not None and not output_path.endswith(SUFFIXES[target]):
        what = "what kfp.Client uploads" if target == "kubeflow" else "a PipelineJob"
        raise BertpipeError(
            f"--output {output_path!r} must end in {' or '.join(SUFFIXES[target])} for "
            f"--target {target} ({what})."
        )
    _check_remote_locations(config, target)
    config.deployment.check_target(target, config.pipeline_root)
    if target == "kubeflow" and config.evaluation.baseline == "latest_blessed":
        raise BertpipeError(
            "evaluation.baseline latest_blessed needs a TFX Resolver node, which the "
            "open-source Kubeflow Pipelines backend rejects; use baseline: serving (the "
            "model at the push destination)."
        )
    if config.beam_pipeline_args:
        raise BertpipeError(
            f"beam_pipeline_args {list(config.beam_pipeline_args)} apply to `bertpipe run` "
            f"on this machine only; {target} steps take their Beam options from "
            "deployment.beam (runner, direct_num_workers, dataflow). Move them there, or "
            "set beam_pipeline_args: [] for this config."
        )


def build_pipeline(config: PipelineConfig, target: str):
    """Builds `config`'s pipeline for `target` (checked by `check_config`)."""
    deployment = config.deployment
    run_fn_config = trainer_custom_config(config, deployment.trainer_runtime_overrides())
    # Cross-run resume: checkpoints keyed by pipeline root + fingerprint (resume.py).
    run_fn_config.update(resume.cross_run_checkpoints(config.pipeline_root, config.training))
    if target == "vertex" and deployment.tpu is not None:
        trainer = vertex.trainer_spec(deployment, run_fn_config)
    else:
        trainer = TrainerSpec(run_fn_config)
    baseline = (
        baseline_wiring(target, config.serving_dir)
        if config.evaluation.baseline == "latest_blessed"
        else None
    )
    return create_pipeline(
        config,
        beam_pipeline_args=deployment.beam_pipeline_args(),
        trainer=trainer,
        baseline=baseline,
    )


def compile_config(config: PipelineConfig, target: str) -> CompiledPipeline:
    """Builds and compiles `config` (checked by `check_config`) for `target`.

    Kubeflow: the two-document YAML of `kubeflow.compile_kubeflow`; Vertex: the PipelineJob
    JSON of `vertex.compile_vertex` (with the TPU Trainer as a Vertex CustomJob).
    """
    return compile_pipeline(build_pipeline(config, target), config, target)


def compile_pipeline(pipeline, config: PipelineConfig, target: str) -> CompiledPipeline:
    """Compiles an already built pipeline of `config` (see `compile_config`)."""
    deployment = config.deployment
    steps = tuple(node.id for node in pipeline.components)
    if target == "kubeflow":
        package = kubeflow.compile_kubeflow(pipeline, deployment)
        tpu_steps = deployment.tpu_component_ids(kubeflow.TRAINER_ID, kubeflow.EVALUATOR_ID)
        document, platform = package.pipeline_spec, package.platform_spec
    else:
        package = vertex.compile_vertex(pipeline, deployment)
        tpu_steps = (vertex.TRAINER_ID,) if deployment.tpu is not None else ()
        document, platform = package.job, {}
    return CompiledPipeline(
        target, config.pipeline_name, steps, tpu_steps, document, platform, package.text
    )


def write(compiled: CompiledPipeline, path: str) -> None:
    """Writes the compiled file to `path` (checked by `check_config`)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(compiled.text)


def _check_remote_locations(config: PipelineConfig, target: str) -> None:
    """Raises BertpipeError unless every location in `config` is readable from `target`'s
    machines: corpus globs, an imported vocabulary, the pipeline root, the push destination
    and a checkpoint directory must be gs:// paths (the root: `check_target`)."""
    for entry in config.corpus:
        if entry.startswith(SAMPLE_PREFIX):
            name = entry[len(SAMPLE_PREFIX) :]
            raise BertpipeError(
                f"corpus entry {entry!r} is a sample corpus on this machine, which {target} "
                f"steps cannot read. Upload it and list the gs:// path instead: `bertpipe "
                f"corpus fetch {name}` prints its file; `gcloud storage cp FILE "
                f"gs://BUCKET/corpus/{name}.txt`, then corpus: [gs://BUCKET/corpus/*.txt]."
            )
        _require_remote(entry, "corpus entry", target, "upload the files to Cloud Storage")
    vocab = config.vocabulary.import_uri
    if vocab and vocab != BERT_BASE_UNCASED:
        _require_remote(vocab, "vocabulary.import_uri", target, "upload vocab.txt")
    if config.push_destination:
        _require_remote(config.push_destination, "push_destination", target, "push to a bucket")
    if config.training.checkpoint_dir:
        _require_remote(
            config.training.checkpoint_dir, "training.checkpoint_dir", target, "use a bucket"
        )


def _require_remote(path: str, what: str, target: str, fix: str) -> None:
    if path.startswith(REMOTE_PREFIX) and len(path) > len(REMOTE_PREFIX):
        return
    why = (
        "is on this machine's disk"
        if "://" not in path
        else f"uses {path.split('://', 1)[0]}://, which the steps' TensorFlow cannot read"
    )
    raise BertpipeError(
        f"{what} {path!r} {why}; {target} steps run on other machines and read Cloud "
        f"Storage: {fix} and use a gs:// path (e.g. gs://BUCKET/...)."
    )


def describe(compiled: CompiledPipeline, config: PipelineConfig) -> list[str]:
    """Lines saying what was compiled: steps, TPU placement, Beam runner, images."""
    deployment = config.deployment
    lines = [f"steps: {', '.join(compiled.steps)}"]
    tpu = deployment.tpu
    if tpu is None:
        lines.append("TPU: none (the Trainer runs on a CPU machine)")
    elif compiled.target == "kubeflow":
        lines.append(
            f"TPU: {', '.join(compiled.tpu_steps)} on GKE nodes {tpu.accelerator} "
            f"{tpu.topology} ({tpu.machine_type}, google.com/tpu: {tpu.chips_per_host})"
            + (", Spot" if tpu.spot else "")
        )
    else:
        lines.append(
            f"TPU: Trainer as a Vertex CustomJob on {tpu.machine_type} {tpu.topology}"
            + (", Spot" if tpu.spot else "")
        )
    beam = deployment.beam
    if beam.runner == "DataflowRunner":
        flow = beam.dataflow
        lines.append(
            f"Beam: DataflowRunner in {flow.project}/{flow.region}, up to "
            f"{flow.max_num_workers} x {flow.machine_type}"
        )
    else:
        lines.append(f"Beam: {' '.join(deployment.beam_pipeline_args())} (inside each step)")
    lines.append(f"images: {deployment.images.default}" + _tpu_image(deployment))
    lines.append(f"pipeline root: {config.pipeline_root}")
    return lines


def _tpu_image(deployment) -> str:
    if deployment.tpu is None or not deployment.images.tpu:
        return ""
    return f", TPU steps {deployment.images.tpu}"
