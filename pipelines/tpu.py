"""TPU targeting: the one table that the compiled pipeline and `kubernetes/` both follow.

`TpuConfig(accelerator, topology, spot)` names a single-host Cloud TPU slice. It checks the
pair against the table below and derives everything else from it: the GKE machine type,
chips per host, the node selector and tolerations a pod needs to land on such a node, the
`google.com/tpu` resource limit, the taints the node pool carries, and the Vertex AI worker
pool machine spec. `bertpipe compile` (Kubeflow/Vertex) and the node pools in
`kubernetes/overlays/*` are both checked against these functions, so they cannot drift.

Why single-host only: one KFP step is one Kubernetes pod. A multi-host slice (e.g. v5e
4x4 = 4 hosts) is only usable when all its hosts run one process each and start together,
which needs a gang-scheduled JobSet (or a Vertex multi-replica worker pool), not a KFP step.
Such topologies are rejected with the largest single-host topology as the alternative.

Sources for the table (GKE labels, machine types, chips and hosts per topology):
  - GKE "Plan TPUs in GKE", topology tables:
    https://cloud.google.com/kubernetes-engine/docs/concepts/plan-tpus
  - Cloud TPU v5e / v5p configurations (slice shapes, hosts per shape):
    https://cloud.google.com/tpu/docs/v5e and https://cloud.google.com/tpu/docs/v5p
  - GKE TPU node labels `cloud.google.com/gke-tpu-accelerator` / `-topology`, the
    `google.com/tpu` resource and the `google.com/tpu=present:NoSchedule` node taint:
    https://cloud.google.com/kubernetes-engine/docs/concepts/tpus
Vertex AI: `MachineSpec.tpu_topology` exists in google-cloud-aiplatform (its docstring:
"required for TPU v5"); the Vertex specs below reuse the GKE machine types and are NOT
verified against a live Vertex job (none has been run with them).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from typing import Literal

from components.errors import BertpipeError

ACCELERATOR_LABEL = "cloud.google.com/gke-tpu-accelerator"
TOPOLOGY_LABEL = "cloud.google.com/gke-tpu-topology"
SPOT_LABEL = "cloud.google.com/gke-spot"
TPU_RESOURCE = "google.com/tpu"
# GKE taints every TPU node `google.com/tpu=present:NoSchedule`; our node pools declare the
# same taint so the contract is visible in the manifests.
TPU_TAINT_VALUE = "present"

Accelerator = Literal["tpu-v5-lite-podslice", "tpu-v5p-slice", "tpu-v6e-slice", "tpu-v4-podslice"]


@dataclasses.dataclass(frozen=True)
class SliceShape:
    """One documented TPU slice shape: a topology served by `hosts` VMs of `machine_type`."""

    topology: str
    machine_type: str
    chips_per_host: int
    hosts: int

    @property
    def chips(self) -> int:
        return self.chips_per_host * self.hosts

    @property
    def single_host(self) -> bool:
        return self.hosts == 1


@dataclasses.dataclass(frozen=True)
class TpuFamily:
    """A TPU generation as GKE names it, with its documented slice shapes.

    Attributes:
      accelerator: the `cloud.google.com/gke-tpu-accelerator` label value.
      generation: the Cloud TPU name (v5e, v5p, ...), for messages.
      dims: 2 for AxB topologies, 3 for AxBxC.
      shapes: documented shapes, single-host first (smallest to largest), then multi-host.
    """

    accelerator: str
    generation: str
    dims: int
    shapes: tuple[SliceShape, ...]

    def single_host_shapes(self) -> tuple[SliceShape, ...]:
        return tuple(s for s in self.shapes if s.single_host)

    def largest_single_host(self) -> SliceShape:
        return max(self.single_host_shapes(), key=lambda s: s.chips)


def _shapes(machine_type: str, chips_per_host: int, topologies: str) -> tuple[SliceShape, ...]:
    """Shapes on one machine type; hosts = chips in the topology / chips per host."""
    out = []
    for topology in topologies.split():
        chips = math.prod(int(d) for d in topology.split("x"))
        out.append(SliceShape(topology, machine_type, chips_per_host, chips // chips_per_host))
    return tuple(out)


FAMILIES: dict[str, TpuFamily] = {
    family.accelerator: family
    for family in (
        TpuFamily(
            "tpu-v5-lite-podslice",
            "v5e",
            2,
            _shapes("ct5lp-hightpu-1t", 1, "1x1")
            + _shapes("ct5lp-hightpu-4t", 4, "2x2")
            + _shapes("ct5lp-hightpu-8t", 8, "2x4")
            # The same 2x4 shape is also sold as two 4-chip hosts (multi-host).
            + _shapes("ct5lp-hightpu-4t", 4, "2x4 4x4 4x8 8x8 8x16 16x16"),
        ),
        TpuFamily(
            "tpu-v6e-slice",
            "v6e",
            2,
            _shapes("ct6e-standard-1t", 1, "1x1")
            + _shapes("ct6e-standard-4t", 4, "2x2")
            + _shapes("ct6e-standard-8t", 8, "2x4")
            + _shapes("ct6e-standard-4t", 4, "2x4 4x4 4x8 8x8 8x16 16x16"),
        ),
        TpuFamily(
            "tpu-v5p-slice",
            "v5p",
            3,
            _shapes("ct5p-hightpu-4t", 4, "2x2x1 2x2x2 2x2x4 2x4x4 4x4x4 4x4x8 4x8x8 8x8x8"),
        ),
        TpuFamily(
            "tpu-v4-podslice",
            "v4",
            3,
            _shapes("ct4p-hightpu-4t", 4, "2x2x1 2x2x2 2x2x4 2x4x4 4x4x4 4x4x8 4x8x8 8x8x8"),
        ),
    )
}


@dataclasses.dataclass(frozen=True)
class TpuConfig:
    """A single-host TPU slice for one pipeline step (the Trainer, optionally the evaluator).

    Attributes:
      accelerator: GKE accelerator label value, e.g. `tpu-v5-lite-podslice` (v5e).
      topology: chip arrangement, e.g. `2x2` (v5e/v6e) or `2x2x1` (v5p/v4); must be a
        single-host topology for the accelerator.
      spot: schedule onto Spot TPU nodes (cheaper, can be preempted at any time: the step
        must resume from checkpoints).
    """

    accelerator: Accelerator = "tpu-v5-lite-podslice"
    topology: str = "2x2"
    spot: bool = False

    def __post_init__(self):
        # Raises BertpipeError (why, and what to use instead) for an unusable combination.
        _single_host_shape(self.family, self.topology)

    @property
    def family(self) -> TpuFamily:
        family = FAMILIES.get(self.accelerator)
        if family is None:
            named = [a for a, f in FAMILIES.items() if f.generation in str(self.accelerator)]
            close = named or difflib.get_close_matches(str(self.accelerator), FAMILIES, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise BertpipeError(
                f"accelerator {self.accelerator!r} is not a GKE TPU accelerator bertpipe "
                f"supports; expected one of {sorted(FAMILIES)}.{hint}"
            )
        return family

    @property
    def shape(self) -> SliceShape:
        """The single-host slice shape this config names (validated)."""
        return _single_host_shape(self.family, self.topology)

    @property
    def machine_type(self) -> str:
        """GKE / Compute Engine machine type of the TPU VM, e.g. `ct5lp-hightpu-4t`."""
        return self.shape.machine_type

    @property
    def chips_per_host(self) -> int:
        """TPU chips on the one host, i.e. the `google.com/tpu` request of the pod."""
        return self.shape.chips_per_host

    @property
    def host_count(self) -> int:
        """Always 1: only single-host slices are accepted."""
        return self.shape.hosts

    def node_selector(self) -> dict[str, str]:
        """Pod `nodeSelector` that matches exactly the nodes of such a node pool."""
        selector = {ACCELERATOR_LABEL: self.accelerator, TOPOLOGY_LABEL: self.topology}
        if self.spot:
            selector[SPOT_LABEL] = "true"
        return selector

    def node_labels(self) -> dict[str, str]:
        """Labels GKE puts on the nodes of the matching node pool (selector is a subset)."""
        return self.node_selector()

    def node_taints(self) -> list[dict[str, str]]:
        """Taints the matching node pool carries, in Kubernetes form."""
        taints = [{"key": TPU_RESOURCE, "value": TPU_TAINT_VALUE, "effect": "NoSchedule"}]
        if self.spot:
            # Keeps pods that cannot survive preemption off Spot nodes.
            taints.append({"key": SPOT_LABEL, "value": "true", "effect": "NoSchedule"})
        return taints

    def gke_node_taints(self) -> list[dict[str, str]]:
        """`node_taints()` as the GKE API / Config Connector `nodeConfig.taint` spells them."""
        effects = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}
        return [{**t, "effect": effects[t["effect"]]} for t in self.node_taints()]

    def tolerations(self) -> list[dict[str, str]]:
        """Pod tolerations for every taint in `node_taints()`."""
        tolerations = [{"key": TPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}]
        if self.spot:
            tolerations.append(
                {"key": SPOT_LABEL, "operator": "Equal", "value": "true", "effect": "NoSchedule"}
            )
        return tolerations

    def resource_limits(self) -> dict[str, str]:
        """Container `resources.limits`: all the chips of the host (TPUs are not shared)."""
        return {TPU_RESOURCE: str(self.chips_per_host)}

    def kfp_executor_config(self) -> dict:
        """KFP `KubernetesExecutorConfig` (proto JSON) for the platform-config document.

        Field names follow kubernetes_executor_config.proto (`nodeSelector.labels`,
        `tolerations`), which the KFP backend driver applies to the step's pod from 2.1.0 on.
        """
        return {
            "nodeSelector": {"labels": self.node_selector()},
            "tolerations": self.tolerations(),
        }

    def vertex_machine_spec(self) -> dict[str, str]:
        """Vertex AI `MachineSpec` (snake_case, as in a CustomJob `worker_pool_specs` entry).

        TPU VM machine types carry their chips, so no accelerator_type/count is set; the
        topology goes in `tpu_topology`. Documented for v5e (Vertex lists ct5lp-hightpu-*
        with `tpu_topology`); no Vertex job has been run with any of these specs.
        """
        return {"machine_type": self.machine_type, "tpu_topology": self.topology}

    def vertex_worker_pool_spec(self, image_uri: str) -> dict:
        """One-replica Vertex worker pool running `image_uri` on this slice."""
        if not image_uri:
            raise BertpipeError("a Vertex worker pool needs a container image URI, got ''.")
        return {
            "machine_spec": self.vertex_machine_spec(),
            "replica_count": 1,
            "container_spec": {"image_uri": image_uri},
        }

    def vertex_scheduling(self) -> dict[str, str] | None:
        """Vertex `CustomJob.job_spec.scheduling` for Spot capacity, or None for on-demand."""
        return {"strategy": "SPOT"} if self.spot else None


def _single_host_shape(family: TpuFamily, topology: str) -> SliceShape:
    singles = {s.topology: s for s in family.single_host_shapes()}
    if topology in singles:
        return singles[topology]
    largest = family.largest_single_host()
    smaller = [t for t in singles if t != largest.topology]
    alternative = (
        f"Use the largest single-host topology for {family.accelerator}, {largest.topology!r} "
        f"({largest.chips} chips on one {largest.machine_type} host)"
        + (f", or a smaller one: {', '.join(smaller)}." if smaller else ".")
    )
    multi = [s for s in family.shapes if s.topology == topology and not s.single_host]
    if multi:
        shape = multi[0]
        hosts = "both hosts" if shape.hosts == 2 else f"all {shape.hosts} hosts"
        raise BertpipeError(
            f"topology {topology!r} for {family.accelerator} ({family.generation}) is a "
            f"multi-host slice: {shape.chips} chips on {shape.hosts} hosts of "
            f"{shape.machine_type} ({shape.chips_per_host} chips each). One KFP step is one "
            f"pod on one host, and a multi-host slice needs {hosts} scheduled together "
            f"(e.g. a JobSet), so the step could never use it. {alternative}"
        )
    if not _well_formed(topology, family.dims):
        form = "AxB" if family.dims == 2 else "AxBxC"
        raise BertpipeError(
            f"topology {topology!r} is not a {family.accelerator} ({family.generation}) "
            f"topology: its slices are {family.dims}-D, written {form} with positive integers "
            f"(the value of the {TOPOLOGY_LABEL} node label). {alternative}"
        )
    raise BertpipeError(
        f"topology {topology!r} is not a slice shape GKE documents for {family.accelerator} "
        f"({family.generation}). {alternative}"
    )


def _well_formed(topology: str, dims: int) -> bool:
    parts = str(topology).split("x")
    return len(parts) == dims and all(p.isdigit() and int(p) > 0 for p in parts)
