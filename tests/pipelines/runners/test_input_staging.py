"""The Trainer's input staging volume, as the KFP platform proto reads it."""

import pytest
from google.protobuf import json_format

from components.errors import BertpipeError
from pipelines.runners import input_staging
from tests.pipelines.runners import kfp_protos


def test_staging_volume_mounts_the_roots_bucket_below_kfps_gcs_scratch():
    volume = input_staging.staging_volume("gs://my-bucket/root", "500Gi")
    assert volume == {
        "volumeName": "bertpipe-input-staging",
        "mountPath": "/gcs/my-bucket",
        "accessModes": ["ReadWriteOnce"],
        "size": "500Gi",
        "defaultStorageClass": True,
    }


def test_staging_volume_parses_as_a_kfp_kubernetes_executor_config():
    platform = input_staging.add_staging_volume(
        {}, "Trainer_executor", input_staging.staging_volume("gs://b/r", "2Ti", "premium-rwo")
    )
    executor = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    config = json_format.ParseDict(
        executor["Trainer_executor"], kfp_protos.kubernetes_executor_config()()
    )
    (volume,) = config.generic_ephemeral_volume
    assert (volume.mount_path, volume.size, volume.storage_class_name) == (
        "/gcs/b",
        "2Ti",
        "premium-rwo",
    )
    assert not volume.default_storage_class


@pytest.mark.parametrize("size", ["500", "500G", "0Gi", "1.5Ti", ""])
def test_staging_volume_rejects_a_size_that_is_not_gi_or_ti(size):
    with pytest.raises(BertpipeError, match="Kubernetes quantity in Gi or Ti"):
        input_staging.staging_volume("gs://b/r", size)


def test_staging_volume_rejects_a_root_that_is_not_gs():
    with pytest.raises(BertpipeError, match="expected a gs:// pipeline root"):
        input_staging.staging_volume("/local/root", "10Gi")
