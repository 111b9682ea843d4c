"""CPU and memory of a pipeline step on Kubeflow Pipelines or Vertex AI Pipelines.

`DeploymentConfig` (pipelines/deployment.py) holds one `ResourcesConfig` as the default of
every step, one per step in `step_resources`, and one for the TPU host's steps; the
compilers turn them into each step's container resources (pipelines/runners/kfp_v2.py).
"""

from __future__ import annotations

import dataclasses

from components.configs import check_number
from components.errors import BertpipeError


@dataclasses.dataclass(frozen=True)
class ResourcesConfig:
    """CPU and memory of a step (Kubernetes requests/limits; on Vertex the limits, or else
    the requests, choose the machine).

    The defaults are sized for BERT-base: the evaluator loads the 110M-parameter model
    (~0.44 GB of float32 weights, a few GB with TensorFlow's runtime and a batch) and the
    data steps run Beam's DirectRunner with one worker per requested CPU.

    Attributes:
      cpu_request: CPUs reserved for the step's pod; must be > 0 (a pod without requests
        is BestEffort, the first evicted under node pressure).
      memory_request_gb: memory reserved, in GB (10^9 bytes, as the KFP driver applies
        it); must be > 0.
      cpu_limit: CPU ceiling; 0 = none.
      memory_limit_gb: memory ceiling in GB; 0 = none.
    """

    cpu_request: float = 4.0
    memory_request_gb: float = 16.0
    cpu_limit: float = 0.0
    memory_limit_gb: float = 0.0

    def __post_init__(self):
        for name in ("cpu_request", "memory_request_gb", "cpu_limit", "memory_limit_gb"):
            check_number("resources", name, getattr(self, name), 0)
        for name in ("cpu_request", "memory_request_gb"):
            if not getattr(self, name):
                raise BertpipeError(
                    f"resources.{name} is 0; every step needs a CPU and memory request (a "
                    "pod without one is BestEffort, evicted first). Set it, e.g. 1 CPU, 4 GB."
                )
        for request, limit in (
            ("cpu_request", "cpu_limit"),
            ("memory_request_gb", "memory_limit_gb"),
        ):
            if getattr(self, limit) and getattr(self, limit) < getattr(self, request):
                raise BertpipeError(
                    f"resources.{limit} ({getattr(self, limit)}) is below resources.{request} "
                    f"({getattr(self, request)}); Kubernetes rejects such a pod. Raise the "
                    f"limit, or set it to 0 for none."
                )
