"""Where and how the pipeline's steps run on Kubeflow Pipelines or Vertex AI Pipelines.

`DeploymentConfig` holds the sections a `PipelineConfig` embeds for cloud targets: container
images, the Beam runner of the data components (DirectRunner inside the step's pod, or
Dataflow), CPU/memory of every step (`pipelines/resources.py`), the TPU slice (`pipelines/tpu.py`'s
`TpuConfig`: the overlay `tpu.yaml` files in `kubernetes/` are exactly this section), and
the Kubeflow and Vertex defaults that `bertpipe submit` uses. Every section is a frozen
dataclass checked in `__post_init__`; `check_target` adds the checks that depend on where
the pipeline goes (a `gs://` root, a pushed image, a Vertex project), so a config that
cannot work fails before anything is compiled or submitted, saying why and what to use.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import Literal

from components import configs
from components.errors import BertpipeError
from pipelines.resources import ResourcesConfig
from pipelines.runners import input_staging
from pipelines.tpu import TpuConfig

Target = Literal["kubeflow", "vertex"]
TARGETS: tuple[str, ...] = ("kubeflow", "vertex")

# What the trainer's experiment config must say to train on the slice the step lands on
# (Model Garden RuntimeConfig names): a TPU VM host is its own TPU worker, hence `local`.
TPU_RUNTIME_OVERRIDES = {
    "runtime": {"distribution_strategy": "tpu", "tpu": "local", "mixed_precision_dtype": "bfloat16"}
}

_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._\-/:@]*$")


def _check_image(image: str, what: str) -> None:
    if image and not _IMAGE.match(image):
        raise BertpipeError(
            f"{what} {image!r} is not a container image reference; expected e.g. "
            "'us-docker.pkg.dev/PROJECT/bertpipe/bertpipe:0.1.0' (lower case, no spaces)."
        )


def _has_registry(image: str) -> bool:
    first = image.split("/", 1)[0]
    return "/" in image and ("." in first or ":" in first or first == "localhost")


def _check_gs(value: str, what: str, *, required: bool = True) -> None:
    if not value and not required:
        return
    if not value.startswith("gs://") or len(value) <= len("gs://"):
        raise BertpipeError(
            f"{what} must be a gs:// path (e.g. gs://my-bucket/tmp), got {value!r}: Dataflow "
            "and Vertex workers read and write Cloud Storage, not this machine's disk."
        )


@dataclasses.dataclass(frozen=True)
class ImageConfig:
    """Container images of the steps (all built from the repository's Dockerfile).

    Attributes:
      default: image of every step not named below (`make image`, pushed to a registry).
      tpu: image of TPU steps (the Kubeflow Trainer pod, the Vertex TPU worker pool);
        `make image-tpu`. Empty means `default`.
      components: component id -> image, for a step that needs its own image.
    """

    default: str = ""
    tpu: str = ""
    components: dict[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        _check_image(self.default, "images.default")
        _check_image(self.tpu, "images.tpu")
        for component_id, image in self.components.items():
            if not isinstance(image, str) or not image:
                raise BertpipeError(
                    f"images.components.{component_id} must be an image reference, got {image!r}."
                )
            _check_image(image, f"images.components.{component_id}")

    def for_component(self, component_id: str, *, on_tpu: bool = False) -> str:
        """The image a step runs in: its own override, else the TPU or default image."""
        if component_id in self.components:
            return self.components[component_id]
        return (self.tpu or self.default) if on_tpu else self.default


@dataclasses.dataclass(frozen=True)
class DataflowConfig:
    """Dataflow settings for the Beam data components (vocabulary, examples).

    Attributes:
      project: Google Cloud project the Dataflow jobs run in.
      region: Dataflow regional endpoint, e.g. `us-central1`.
      temp_location: gs:// path for temporary files.
      staging_location: gs:// path for staged files; empty = Beam's default (temp_location).
      machine_type: worker machine type.
      max_num_workers: autoscaling ceiling.
      service_account_email: worker service account; empty = the project's Compute
        Engine default account.
      sdk_container_image: worker image; empty = `images.default` (the workers need
        bertpipe and tensorflow-text, which only the bertpipe image has).
    """

    project: str
    region: str
    temp_location: str
    staging_location: str = ""
    machine_type: str = "n1-standard-4"
    max_num_workers: int = 10
    service_account_email: str = ""
    sdk_container_image: str = ""

    def __post_init__(self):
        for name in ("project", "region"):
            if not getattr(self, name):
                raise BertpipeError(f"beam.dataflow.{name} is empty; Dataflow needs it.")
        _check_gs(self.temp_location, "beam.dataflow.temp_location")
        _check_gs(self.staging_location, "beam.dataflow.staging_location", required=False)
        if self.max_num_workers < 1:
            raise BertpipeError(
                f"beam.dataflow.max_num_workers must be >= 1, got {self.max_num_workers}."
            )
        _check_image(self.sdk_container_image, "beam.dataflow.sdk_container_image")


@dataclasses.dataclass(frozen=True)
class BeamConfig:
    """How the Beam data components run on a cloud target.

    Attributes:
      runner: `DirectRunner` (inside the step's pod or Vertex worker) or `DataflowRunner`.
      direct_num_workers: DirectRunner worker processes; 0 = one per CPU the step requests
        (not the node's core count, which can be far more than the pod may use).
      direct_running_mode: DirectRunner mode; `multi_processing` uses several cores.
      dataflow: required with `DataflowRunner`.
    """

    runner: Literal["DirectRunner", "DataflowRunner"] = "DirectRunner"
    direct_num_workers: int = 0
    direct_running_mode: Literal["in_memory", "multi_threading", "multi_processing"] = (
        "multi_processing"
    )
    dataflow: DataflowConfig | None = None

    def __post_init__(self):
        if self.direct_num_workers < 0:
            raise BertpipeError(
                f"beam.direct_num_workers must be >= 0 (0 = one per requested CPU), got "
                f"{self.direct_num_workers}."
            )
        if self.runner == "DataflowRunner" and self.dataflow is None:
            raise BertpipeError(
                "beam.runner is DataflowRunner but there is no beam.dataflow section; add "
                "project, region and temp_location, or use runner: DirectRunner."
            )
        if self.runner == "DirectRunner" and self.dataflow is not None:
            raise BertpipeError(
                "beam.dataflow is set but beam.runner is DirectRunner, so it would be "
                "ignored; set runner: DataflowRunner or remove the dataflow section."
            )


# Steps whose inputs KFP copies before they start, and room for those copies: the Examples
# artifact (Trainer, evaluator; hundreds of GB at BERT's recipe) and an exported model.
DEFAULT_INPUT_STAGING = {"Trainer": "200Gi", "MaskedLMEvaluator": "200Gi", "Pusher": "20Gi"}


@dataclasses.dataclass(frozen=True)
class KubeflowConfig:
    """Defaults for `bertpipe submit --target kubeflow`.

    Attributes:
      host: KFP API/UI base URL, e.g. http://localhost:8080 after
        `kubectl -n bertpipe port-forward svc/ml-pipeline-ui 8080:80`.
      namespace: profile namespace of a multi-user Kubeflow; empty for standalone KFP
        (what `kubernetes/` installs).
      experiment: experiment the runs are filed under (created if missing).
      service_account: Kubernetes service account of the run's pods; empty = the API
        server's default (`bertpipe-runner` with `kubernetes/`).
      input_staging: step id -> size (Kubernetes quantity in Gi/Ti) of a per-pod volume
        that receives KFP's copy of the step's input artifacts instead of the node's boot
        disk (pipelines/runners/input_staging.py); size it for the step's inputs (the
        Examples artifact for the Trainer and the evaluator). `{}` = no volumes.
      input_staging_storage_class: StorageClass of those volumes; empty = the default.
    """

    host: str = ""
    namespace: str = ""
    experiment: str = "bertpipe"
    service_account: str = ""
    input_staging: dict[str, str] = dataclasses.field(
        default_factory=lambda: dict(DEFAULT_INPUT_STAGING)
    )
    input_staging_storage_class: str = ""

    def __post_init__(self):
        if self.host and not self.host.startswith(("http://", "https://")):
            raise BertpipeError(
                f"kubeflow.host {self.host!r} needs a scheme: http://HOST:PORT (e.g. "
                "http://localhost:8080 through kubectl port-forward) or https://HOST."
            )
        if not self.experiment:
            raise BertpipeError("kubeflow.experiment is empty; name an experiment.")
        if not isinstance(self.input_staging, dict):
            raise BertpipeError(
                "kubeflow.input_staging must map step ids to volume sizes, e.g. "
                f"{{Trainer: 500Gi}}; got {self.input_staging!r}."
            )
        for step, size in self.input_staging.items():
            input_staging.check_size(size, f"kubeflow.input_staging.{step}")


@dataclasses.dataclass(frozen=True)
class VertexConfig:
    """Defaults for Vertex AI Pipelines and the Vertex training job.

    Attributes:
      project: Google Cloud project id.
      region: Vertex region, e.g. `us-central1` (must offer the TPU type you ask for).
      service_account: service account the pipeline and training job run as; empty = the
        project's Compute Engine default account.
    """

    project: str = ""
    region: str = "us-central1"
    service_account: str = ""

    def __post_init__(self):
        if not self.region:
            raise BertpipeError("vertex.region is empty; name a region, e.g. us-central1.")


@dataclasses.dataclass(frozen=True)
class DeploymentConfig:
    """Everything about running the pipeline on Kubeflow Pipelines or Vertex AI Pipelines.

    Attributes:
      images: container images of the steps.
      beam: Beam runner of the data components.
      resources: CPU/memory of every step without an entry in `step_resources`.
      step_resources: component id -> CPU/memory of that step (e.g. a smaller Pusher).
      tpu_host_resources: CPU/memory requests of a step on the TPU slice (Kubeflow: the
        Trainer pod on the TPU VM, beside `google.com/tpu`; the node is the step's alone,
        so this is a floor, not a share). The default fits every TPU host type of
        pipelines/tpu.py (the smallest, ct5lp-hightpu-1t, has 24 vCPUs and 48 GB).
      tpu: the TPU slice the Trainer runs on; None trains on CPU.
      tpu_evaluator: also run the evaluator on the slice (Kubeflow only).
      trainer_retries: how many times KFP/Vertex re-runs a failed Trainer step (a Spot TPU
        node preempted, a pod evicted); the retried step resumes from its last checkpoint.
      kubeflow: `bertpipe submit --target kubeflow` defaults.
      vertex: Vertex project/region/identity.
    """

    images: ImageConfig = dataclasses.field(default_factory=ImageConfig)
    beam: BeamConfig = dataclasses.field(default_factory=BeamConfig)
    resources: ResourcesConfig = dataclasses.field(default_factory=ResourcesConfig)
    step_resources: dict[str, ResourcesConfig] = dataclasses.field(default_factory=dict)
    tpu_host_resources: ResourcesConfig = dataclasses.field(
        default_factory=lambda: ResourcesConfig(cpu_request=8.0, memory_request_gb=32.0)
    )
    tpu: TpuConfig | None = None
    tpu_evaluator: bool = False
    trainer_retries: int = 3
    kubeflow: KubeflowConfig = dataclasses.field(default_factory=KubeflowConfig)
    vertex: VertexConfig = dataclasses.field(default_factory=VertexConfig)

    def __post_init__(self):
        steps = {
            cid: value
            if isinstance(value, ResourcesConfig)
            else configs.from_dict(
                ResourcesConfig, value, source="deployment", prefix=f"step_resources.{cid}"
            )
            for cid, value in self.step_resources.items()
        }
        object.__setattr__(self, "step_resources", steps)
        if isinstance(self.trainer_retries, bool) or not 0 <= self.trainer_retries <= 20:
            raise BertpipeError(
                f"trainer_retries must be an integer in [0, 20]; got {self.trainer_retries!r}."
            )
        if self.tpu_evaluator and self.tpu is None:
            raise BertpipeError(
                "tpu_evaluator is true but there is no tpu section; add one (accelerator, "
                "topology) or set tpu_evaluator: false."
            )

    def check_target(self, target: str, pipeline_root: str | None = None) -> None:
        """Raises BertpipeError unless this config can run a pipeline on `target`.

        Args:
          target: `kubeflow` or `vertex`.
          pipeline_root: checked too when given (a Kubeflow YAML gets its root at submit).
        """
        if target not in TARGETS:
            raise BertpipeError(f"target must be one of {list(TARGETS)}, got {target!r}.")
        if pipeline_root is not None:
            check_pipeline_root(pipeline_root, target)
        images = [("images.default", self.images.default), ("images.tpu", self.images.tpu)]
        images += [(f"images.components.{k}", v) for k, v in self.images.components.items()]
        if not self.images.default:
            raise BertpipeError(
                f"images.default is empty; a {target} run needs the bertpipe image pushed to "
                "a registry (make image, then e.g. us-docker.pkg.dev/PROJECT/bertpipe/"
                "bertpipe:0.1.0)."
            )
        for name, image in images:
            if image and not _has_registry(image):
                raise BertpipeError(
                    f"{name} {image!r} names no registry, so {target} cannot pull it; push "
                    "the image and use its full path, e.g. us-docker.pkg.dev/PROJECT/"
                    "bertpipe/bertpipe:0.1.0."
                )
        if target == "vertex":
            if not self.vertex.project:
                raise BertpipeError("vertex.project is empty; Vertex AI needs a project id.")
            if self.tpu_evaluator:
                raise BertpipeError(
                    "tpu_evaluator is Kubeflow-only: on Vertex only the Trainer runs as a "
                    "TPU CustomJob. Set tpu_evaluator: false (the evaluator runs on CPU)."
                )

    def resources_for(self, component_id: str, *, on_tpu: bool = False) -> ResourcesConfig:
        """CPU/memory of one step: its own entry, else the TPU host's or the default."""
        if component_id in self.step_resources:
            return self.step_resources[component_id]
        return self.tpu_host_resources if on_tpu else self.resources

    def tpu_component_ids(self, trainer_id: str, evaluator_id: str | None) -> tuple[str, ...]:
        """Ids of the steps that run on the TPU slice (none without a tpu section)."""
        if self.tpu is None:
            return ()
        if self.tpu_evaluator and evaluator_id:
            return (trainer_id, evaluator_id)
        return (trainer_id,)

    def trainer_runtime_overrides(self) -> dict:
        """Experiment overrides the Trainer needs on this deployment ({} without a TPU)."""
        return copy.deepcopy(TPU_RUNTIME_OVERRIDES) if self.tpu is not None else {}

    def beam_pipeline_args(self) -> list[str]:
        """`beam_pipeline_args` for the data components, spelled as Beam parses them."""
        beam = self.beam
        if beam.runner == "DirectRunner":
            workers = beam.direct_num_workers or max(
                1, int(self.resources.cpu_limit or self.resources.cpu_request)
            )
            return [
                "--runner=DirectRunner",
                f"--direct_running_mode={beam.direct_running_mode}",
                f"--direct_num_workers={workers}",
            ]
        return dataflow_args(beam.dataflow, default_image=self.images.default)


def dataflow_args(dataflow: DataflowConfig, *, default_image: str) -> list[str]:
    """Beam options for a Dataflow job running the bertpipe image as its SDK container."""
    image = dataflow.sdk_container_image or default_image
    if not image:
        raise BertpipeError(
            "Dataflow workers need the bertpipe image: set beam.dataflow.sdk_container_image "
            "or images.default."
        )
    args = [
        "--runner=DataflowRunner",
        f"--project={dataflow.project}",
        f"--region={dataflow.region}",
        f"--temp_location={dataflow.temp_location}",
    ]
    if dataflow.staging_location:
        args.append(f"--staging_location={dataflow.staging_location}")
    args += [
        f"--machine_type={dataflow.machine_type}",
        f"--max_num_workers={dataflow.max_num_workers}",
    ]
    if dataflow.service_account_email:
        args.append(f"--service_account_email={dataflow.service_account_email}")
    # The image already holds the Beam SDK; `container` stops Beam staging another copy.
    args += [f"--sdk_container_image={image}", "--sdk_location=container"]
    return args


def check_pipeline_root(root: str, target: str) -> str:
    """Returns `root` if a `target` run can write its artifacts there, else raises why not."""
    scheme = root.split("://", 1)[0] if "://" in root else ""
    if scheme == "gs" and len(root) > len("gs://"):
        return root
    if scheme == "minio":
        why = (
            "KFP's default minio:// root only works for KFP's own launcher; TFX steps write "
            "artifacts through TensorFlow's file system, which has no minio:// scheme"
        )
    elif scheme == "s3":
        why = "TensorFlow 2.16 has no s3:// file system without tensorflow-io"
    elif not scheme:
        why = f"the {target} steps run on other machines and cannot see this machine's disk"
    else:
        why = f"{scheme}:// is not a file system the steps' TensorFlow can write"
    raise BertpipeError(
        f"pipeline root {root!r} cannot be used for {target}: {why}. Use a Cloud Storage "
        "path, e.g. gs://BUCKET/pipeline-root."
    )
