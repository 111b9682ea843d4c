"""Where the KFP launcher puts a step's input artifacts: a volume of its own, not the node's disk.

Before a step's command starts, KFP's launcher copies the first artifact of every input
from the bucket to `/gcs/<bucket>/<path>` in the container (kubeflow/pipelines 2.5.0
backend/src/v2/component/launcher_v2.go:503, 619-687, 882-885; still so in master), and
`/gcs` is an emptyDir (compiler/argocompiler/container.go:347-350, 412-415), i.e. the
node's boot disk. TFX reads its inputs from their gs:// URIs and never opens the copy, but
the copy is made all the same: the Trainer would pull the whole Examples artifact (about
400 GB for Wikipedia + BooksCorpus at BERT's recipe) onto a TPU VM's boot disk and be
evicted. KFP 2.5.0 has no switch to skip it.

What KFP 2.5.0 does offer is a generic ephemeral volume per step (the
`genericEphemeralVolume` entry of the Kubernetes platform spec; driver/driver.go:1036-1075
turns it into a `volumeClaimTemplate` volume mounted in the step's container). Mounted at
`/gcs/<bucket>`, below KFP's emptyDir, it receives the launcher's copy on a persistent
disk provisioned for the pod and deleted with it, sized for the artifact, so the node's
boot disk holds none of it.
"""

from __future__ import annotations

import re

from components.errors import BertpipeError

VOLUME_NAME = "bertpipe-input-staging"
_QUANTITY = re.compile(r"^[1-9][0-9]*(Gi|Ti)$")


def bucket_of(uri: str) -> str:
    """`gs://bucket/any/path` -> `bucket`."""
    if not uri.startswith("gs://") or len(uri) <= len("gs://"):
        raise BertpipeError(f"expected a gs:// pipeline root; got {uri!r}.")
    return uri[len("gs://") :].split("/", 1)[0]


def check_size(size, what: str = "input staging size") -> None:
    """`size` must be a Kubernetes quantity in Gi or Ti, e.g. '500Gi'."""
    if not isinstance(size, str) or not _QUANTITY.match(size):
        raise BertpipeError(
            f"{what} must be a Kubernetes quantity in Gi or Ti such as '500Gi'; got "
            f"{size!r}. Size it from the step's input artifacts."
        )


def staging_volume(pipeline_root: str, size: str, storage_class: str = "") -> dict:
    """The `genericEphemeralVolume` entry that takes the launcher's copies of inputs.

    Args:
      pipeline_root: the run's gs:// pipeline root (the artifacts' bucket).
      size: a Kubernetes quantity in Gi or Ti, e.g. "500Gi": at least the step's inputs.
      storage_class: a StorageClass name; empty = the cluster's default.
    """
    check_size(size)
    volume = {
        "volumeName": VOLUME_NAME,
        "mountPath": "/gcs/" + bucket_of(pipeline_root),
        "accessModes": ["ReadWriteOnce"],
        "size": size,
    }
    if storage_class:
        volume["storageClassName"] = storage_class
    else:
        volume["defaultStorageClass"] = True
    return volume


def add_staging_volume(platform: dict, executor_label: str, volume: dict) -> dict:
    """Adds `volume` to one executor of the Kubernetes platform document; returns it."""
    executors = (
        platform.setdefault("platforms", {})
        .setdefault("kubernetes", {})
        .setdefault("deploymentSpec", {})
        .setdefault("executors", {})
    )
    executor = executors.setdefault(executor_label, {})
    executor.setdefault("genericEphemeralVolume", []).append(volume)
    return platform
