"""Tests for TPU targeting: the GKE/Vertex settings derived from (accelerator, topology)."""

import math
import re

import pytest

from components import configs
from components.errors import BertpipeError
from pipelines import tpu
from pipelines.tpu import TpuConfig

# Expected values written out from the GKE "Plan TPUs" tables, independent of tpu.FAMILIES.
SINGLE_HOST = [
    ("tpu-v5-lite-podslice", "1x1", "ct5lp-hightpu-1t", 1),
    ("tpu-v5-lite-podslice", "2x2", "ct5lp-hightpu-4t", 4),
    ("tpu-v5-lite-podslice", "2x4", "ct5lp-hightpu-8t", 8),
    ("tpu-v6e-slice", "1x1", "ct6e-standard-1t", 1),
    ("tpu-v6e-slice", "2x2", "ct6e-standard-4t", 4),
    ("tpu-v6e-slice", "2x4", "ct6e-standard-8t", 8),
    ("tpu-v5p-slice", "2x2x1", "ct5p-hightpu-4t", 4),
    ("tpu-v4-podslice", "2x2x1", "ct4p-hightpu-4t", 4),
]


def tolerates(tolerations, taint):
    """Kubernetes semantics: does any toleration match the taint (key, value, effect)?"""
    for t in tolerations:
        if t.get("effect") not in (None, "", taint["effect"]):
            continue
        if t.get("operator", "Equal") == "Exists":
            if t.get("key") in (None, "", taint["key"]):
                return True
        elif t.get("key") == taint["key"] and t.get("value", "") == taint["value"]:
            return True
    return False


@pytest.mark.parametrize("accelerator,topology,machine_type,chips", SINGLE_HOST)
def test_single_host_shape_derives_gke_targeting(accelerator, topology, machine_type, chips):
    config = TpuConfig(accelerator=accelerator, topology=topology)
    assert (config.machine_type, config.chips_per_host, config.host_count) == (
        machine_type,
        chips,
        1,
    )
    assert config.node_selector() == {
        "cloud.google.com/gke-tpu-accelerator": accelerator,
        "cloud.google.com/gke-tpu-topology": topology,
    }
    assert config.resource_limits() == {"google.com/tpu": str(chips)}
    assert config.tolerations() == [
        {"key": "google.com/tpu", "operator": "Exists", "effect": "NoSchedule"}
    ]
    assert config.node_taints() == [
        {"key": "google.com/tpu", "value": "present", "effect": "NoSchedule"}
    ]
    assert config.vertex_machine_spec() == {"machine_type": machine_type, "tpu_topology": topology}


def test_default_config_is_a_v5e_2x2_on_demand_host():
    config = TpuConfig()
    assert (config.accelerator, config.topology, config.spot, config.machine_type) == (
        "tpu-v5-lite-podslice",
        "2x2",
        False,
        "ct5lp-hightpu-4t",
    )


@pytest.mark.parametrize(
    "accelerator,topology,expected",
    [
        ("tpu-v5-lite-podslice", "4x4", ["16 chips on 4 hosts", "all 4 hosts", "'2x4'"]),
        ("tpu-v5-lite-podslice", "16x16", ["256 chips on 64 hosts", "'2x4'", "1x1, 2x2"]),
        ("tpu-v6e-slice", "8x8", ["64 chips on 16 hosts of ct6e-standard-4t", "'2x4'"]),
        ("tpu-v5p-slice", "2x2x2", ["8 chips on 2 hosts", "both hosts", "'2x2x1'"]),
        ("tpu-v4-podslice", "4x4x4", ["64 chips on 16 hosts of ct4p-hightpu-4t", "'2x2x1'"]),
    ],
)
def test_multi_host_topology_is_rejected_with_why_and_alternative(accelerator, topology, expected):
    with pytest.raises(BertpipeError) as error:
        TpuConfig(accelerator=accelerator, topology=topology)
    message = str(error.value)
    assert f"topology {topology!r} for {accelerator}" in message
    assert "multi-host slice" in message
    assert "One KFP step is one pod on one host" in message
    assert "JobSet" in message
    assert "Use the largest single-host topology" in message
    for fragment in expected:
        assert fragment in message


@pytest.mark.parametrize(
    "accelerator,topology,form",
    [
        ("tpu-v5-lite-podslice", "2x2x1", "2-D, written AxB"),
        ("tpu-v5p-slice", "2x2", "3-D, written AxBxC"),
        ("tpu-v6e-slice", "2X2", "2-D, written AxB"),
        ("tpu-v4-podslice", "0x2x2", "3-D, written AxBxC"),
    ],
)
def test_malformed_topology_names_the_expected_form(accelerator, topology, form):
    with pytest.raises(BertpipeError, match=re.escape(form)) as error:
        TpuConfig(accelerator=accelerator, topology=topology)
    assert "cloud.google.com/gke-tpu-topology" in str(error.value)


def test_undocumented_shape_is_rejected_with_the_single_host_choices():
    with pytest.raises(BertpipeError) as error:
        TpuConfig(accelerator="tpu-v6e-slice", topology="4x2")
    assert str(error.value) == (
        "topology '4x2' is not a slice shape GKE documents for tpu-v6e-slice (v6e). Use the "
        "largest single-host topology for tpu-v6e-slice, '2x4' (8 chips on one "
        "ct6e-standard-8t host), or a smaller one: 1x1, 2x2."
    )


@pytest.mark.parametrize(
    "accelerator,suggestion", [("tpu-v5e", "tpu-v5-lite-podslice"), ("v6e", "tpu-v6e-slice")]
)
def test_unknown_accelerator_lists_choices_and_suggests_one(accelerator, suggestion):
    with pytest.raises(BertpipeError) as error:
        TpuConfig(accelerator=accelerator, topology="2x2")
    assert "tpu-v4-podslice" in str(error.value)
    assert str(error.value).endswith(f"Did you mean {suggestion!r}?")


def test_spot_adds_selector_taint_and_matching_toleration():
    config = TpuConfig(accelerator="tpu-v5p-slice", topology="2x2x1", spot=True)
    assert config.node_selector()["cloud.google.com/gke-spot"] == "true"
    assert {"key": "cloud.google.com/gke-spot", "value": "true", "effect": "NoSchedule"} in (
        config.node_taints()
    )
    assert config.vertex_scheduling() == {"strategy": "SPOT"}
    assert TpuConfig().vertex_scheduling() is None


@pytest.mark.parametrize("spot", [False, True])
@pytest.mark.parametrize("accelerator,topology,_machine,_chips", SINGLE_HOST)
def test_tolerations_tolerate_every_node_pool_taint(accelerator, topology, _machine, _chips, spot):
    config = TpuConfig(accelerator=accelerator, topology=topology, spot=spot)
    assert all(tolerates(config.tolerations(), taint) for taint in config.node_taints())
    assert config.node_selector().items() <= config.node_labels().items()


def test_tolerations_do_not_tolerate_unrelated_taints():
    config = TpuConfig(spot=False)
    spot_taint = {"key": "cloud.google.com/gke-spot", "value": "true", "effect": "NoSchedule"}
    assert not tolerates(config.tolerations(), spot_taint)


def test_gke_taints_spell_effects_as_the_gke_api():
    config = TpuConfig(spot=True)
    assert [t["effect"] for t in config.gke_node_taints()] == ["NO_SCHEDULE", "NO_SCHEDULE"]
    assert [(t["key"], t["value"]) for t in config.gke_node_taints()] == [
        (t["key"], t["value"]) for t in config.node_taints()
    ]


def test_kfp_executor_config_carries_selector_and_tolerations():
    config = TpuConfig(accelerator="tpu-v6e-slice", topology="2x4", spot=True)
    assert config.kfp_executor_config() == {
        "nodeSelector": {"labels": config.node_selector()},
        "tolerations": config.tolerations(),
    }


def test_vertex_specs_construct_aiplatform_protos():
    from google.cloud.aiplatform_v1.types import custom_job, machine_resources

    config = TpuConfig(accelerator="tpu-v5-lite-podslice", topology="2x4", spot=True)
    spec = machine_resources.MachineSpec(**config.vertex_machine_spec())
    assert (spec.machine_type, spec.tpu_topology) == ("ct5lp-hightpu-8t", "2x4")
    pool = custom_job.WorkerPoolSpec(**config.vertex_worker_pool_spec("gcr.io/p/bertpipe:1"))
    assert (pool.replica_count, pool.container_spec.image_uri) == (1, "gcr.io/p/bertpipe:1")
    scheduling = custom_job.Scheduling(**config.vertex_scheduling())
    assert scheduling.strategy == custom_job.Scheduling.Strategy.SPOT


def test_vertex_worker_pool_requires_an_image():
    with pytest.raises(BertpipeError, match="container image URI"):
        TpuConfig().vertex_worker_pool_spec("")


def test_from_dict_loads_a_tpu_section_and_round_trips_json():
    config = configs.from_dict(
        TpuConfig, {"accelerator": "tpu-v6e-slice", "topology": "2x4", "spot": True}
    )
    assert config == TpuConfig("tpu-v6e-slice", "2x4", True)
    assert configs.from_json(TpuConfig, configs.to_json(config)) == config
    assert configs.to_dict(config) == {
        "accelerator": "tpu-v6e-slice",
        "topology": "2x4",
        "spot": True,
    }


def test_from_dict_error_names_the_key_and_file_for_a_multi_host_topology():
    with pytest.raises(BertpipeError) as error:
        configs.from_dict(
            TpuConfig,
            {"accelerator": "tpu-v5p-slice", "topology": "2x4x4"},
            source="p.yaml",
            prefix="tpu",
        )
    assert str(error.value).startswith("tpu of p.yaml: topology '2x4x4' for tpu-v5p-slice")


def test_from_dict_rejects_an_unsupported_accelerator_name():
    with pytest.raises(BertpipeError, match=r"'tpu.accelerator' in p.yaml must be one of"):
        configs.from_dict(TpuConfig, {"accelerator": "v5litepod-4"}, source="p.yaml", prefix="tpu")


def test_table_is_consistent_with_topology_arithmetic():
    for accelerator, family in tpu.FAMILIES.items():
        assert family.accelerator == accelerator
        singles = [s.topology for s in family.single_host_shapes()]
        assert len(singles) == len(set(singles)), accelerator
        for shape in family.shapes:
            dims = [int(d) for d in shape.topology.split("x")]
            assert len(dims) == family.dims
            assert shape.chips == math.prod(dims)
            assert shape.machine_type.endswith(f"-{shape.chips_per_host}t")
