"""The TPU node pools in kubernetes/overlays serve exactly what pipelines/tpu.py targets.

Each overlay states its TPU slice once, in tpu.yaml (the `tpu` section of a pipeline
config). `bertpipe compile` turns that section into the Trainer's node selector,
tolerations and `google.com/tpu` limit through pipelines/tpu.py; these tests derive the same
values from the same file and compare them with the rendered node pool and smoke Job, and
compile the real pipeline (pipelines/configs/kubeflow-gke-tpu.yaml with the overlay's
tpu.yaml) with `bertpipe compile` and check that its Trainer step, as written in the YAML,
would run on the overlay's node pool, so the manifests and the compiler cannot drift apart.
"""

import pytest
import yaml

from components import configs
from pipelines import tpu
from pipelines.tpu import TpuConfig
from tests.kubernetes.manifests import KUBERNETES_DIR, OVERLAYS, build, needs_kubectl, one
from tests.pipelines.runners import compiled

pytestmark = needs_kubectl

_K8S_EFFECT = {"NO_SCHEDULE": "NoSchedule", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def overlay_tpu(overlay):
    path = KUBERNETES_DIR / "overlays" / overlay / "tpu.yaml"
    return configs.from_dict(TpuConfig, configs.load_file(str(path)), source=str(path))


def node_labels_gke_applies(pool):
    """Labels GKE puts on the pool's nodes, from its machine type, topology and Spot flag."""
    node_config = pool["spec"]["nodeConfig"]
    topology = pool["spec"]["placementPolicy"]["tpuTopology"]
    for family in tpu.FAMILIES.values():
        for shape in family.single_host_shapes():
            if (shape.machine_type, shape.topology) == (node_config["machineType"], topology):
                labels = {tpu.ACCELERATOR_LABEL: family.accelerator, tpu.TOPOLOGY_LABEL: topology}
                if node_config.get("spot"):
                    labels[tpu.SPOT_LABEL] = "true"
                return {**labels, **node_config.get("labels", {})}
    raise AssertionError(f"{node_config['machineType']} {topology} is not a single-host slice")


def tolerated(tolerations, taint):
    for t in tolerations:
        if t.get("effect") not in (None, taint["effect"]):
            continue
        if t.get("operator") == "Exists" and t.get("key") in (None, taint["key"]):
            return True
        if t.get("key") == taint["key"] and t.get("value") == taint["value"]:
            return True
    return False


def placement_problems(node_selector, tolerations, tpu_limit, pool):
    """Why a pod with this placement would not run on `pool` using all of a host's chips."""
    problems = []
    labels = node_labels_gke_applies(pool)
    for key, value in node_selector.items():
        if labels.get(key) != value:
            problems.append(f"nodeSelector {key}={value} but nodes have {labels.get(key)!r}")
    for taint in pool["spec"]["nodeConfig"].get("taint", []):
        taint = {**taint, "effect": _K8S_EFFECT[taint["effect"]]}
        if not tolerated(tolerations, taint):
            problems.append(f"taint {taint['key']}={taint['value']} is not tolerated")
    machine_type = pool["spec"]["nodeConfig"]["machineType"]
    chips = int(machine_type.rsplit("-", 1)[1].rstrip("t"))
    if str(tpu_limit) != str(chips):
        problems.append(f"{tpu.TPU_RESOURCE} limit {tpu_limit}, but a {machine_type} has {chips}")
    return problems


def test_overlays_cover_v5e_and_v5p_or_v6e():
    accelerators = {overlay_tpu(o).accelerator for o in OVERLAYS}
    assert "tpu-v5-lite-podslice" in accelerators
    assert accelerators & {"tpu-v5p-slice", "tpu-v6e-slice"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_node_pool_is_the_slice_pipelines_tpu_derives(overlay):
    config = overlay_tpu(overlay)
    pool = one(build(f"overlays/{overlay}"), "ContainerNodePool")
    node_config = pool["spec"]["nodeConfig"]
    assert node_config["machineType"] == config.machine_type
    assert pool["spec"]["placementPolicy"] == {"type": "COMPACT", "tpuTopology": config.topology}
    assert node_config["spot"] is config.spot
    assert node_config["taint"] == config.gke_node_taints()
    assert node_labels_gke_applies(pool).items() >= config.node_labels().items()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_smoke_job_is_placed_exactly_as_pipelines_tpu_places_a_step(overlay):
    config = overlay_tpu(overlay)
    objects = build(f"smoke/{overlay}")
    pod = one(objects, "Job")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["nodeSelector"] == config.node_selector()
    assert pod["tolerations"] == config.tolerations()
    assert container["resources"]["limits"] == config.resource_limits()
    pool = one(objects, "ContainerNodePool")
    assert (
        placement_problems(
            pod["nodeSelector"],
            pod["tolerations"],
            container["resources"]["limits"][tpu.TPU_RESOURCE],
            pool,
        )
        == []
    )


def compile_for_overlay(overlay, directory):
    """`bertpipe compile --target kubeflow` of the example GKE config with the overlay's
    tpu.yaml as its `tpu` section: (pipeline spec, platform spec) of the written YAML."""
    path = KUBERNETES_DIR / "overlays" / overlay / "tpu.yaml"
    data = configs.load_file(compiled.KUBEFLOW_CONFIG)
    data["deployment"]["tpu"] = configs.load_file(str(path))
    config = directory / f"{overlay}.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    output = str(directory / f"{overlay}-pipeline.yaml")
    compiled.compile_config("kubeflow", str(config), output)
    return compiled.documents(output)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_compiled_pipeline_for_the_overlay_fits_its_node_pool(overlay, tmp_path):
    # What `bertpipe compile` writes for the real pipeline, read back from the file.
    spec, platform = compile_for_overlay(overlay, tmp_path)
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    placed = {label: e for label, e in executors.items() if "nodeSelector" in e}
    assert list(placed) == ["Trainer_executor"]
    executors = spec["deploymentSpec"]["executors"]
    limits = {
        name: e["container"]["resources"].get("accelerator", {}).get("count")
        for name, e in executors.items()
    }
    assert {name for name, count in limits.items() if count} == {"Trainer_executor"}
    pool = one(build(f"overlays/{overlay}"), "ContainerNodePool")
    trainer = placed["Trainer_executor"]
    assert (
        placement_problems(
            trainer["nodeSelector"]["labels"],
            trainer["tolerations"],
            limits["Trainer_executor"],
            pool,
        )
        == []
    )


def test_placement_check_catches_a_wrong_topology_and_a_missing_spot_toleration():
    pool = one(build("overlays/tpu-v5e"), "ContainerNodePool")
    assert pool["spec"]["nodeConfig"]["spot"] is True
    wrong = TpuConfig("tpu-v5-lite-podslice", "2x2", spot=False)
    assert placement_problems(
        wrong.node_selector(), wrong.tolerations(), wrong.chips_per_host, pool
    ) == [
        "nodeSelector cloud.google.com/gke-tpu-topology=2x2 but nodes have '2x4'",
        "taint cloud.google.com/gke-spot=true is not tolerated",
        "google.com/tpu limit 4, but a ct5lp-hightpu-8t has 8",
    ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_tpu_section_is_published_in_the_cluster(overlay):
    path = KUBERNETES_DIR / "overlays" / overlay / "tpu.yaml"
    config_map = one(build(f"overlays/{overlay}"), "ConfigMap", "bertpipe-tpu")
    assert config_map["data"]["tpu.yaml"] == path.read_text()
    assert yaml.safe_load(config_map["data"]["tpu.yaml"]) == configs.to_dict(overlay_tpu(overlay))
