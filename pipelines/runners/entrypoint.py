"""The container entrypoint of every compiled Kubeflow/Vertex step: TFX's, with two repairs.

Each step's container runs `python -m pipelines.runners.entrypoint ARGS`, where ARGS are
exactly what TFX compiles for its own entrypoint
(`tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor`): `--executor_class_path`,
`--json_serialized_invocation_args {{$}}`, `--json_serialized_inputs_spec_args` and the Beam
arguments. This module repairs the ExecutorInput, hands it to TFX's runner unchanged, then
repairs the ExecutorOutput:

1. Input artifact types. The open-source KFP driver reads upstream artifacts back from ML
   Metadata with an empty schema (kubeflow/pipelines 2.5.0 backend/src/v2/metadata/
   client.go:948 `Schema: ""`, copied into `instanceSchema` at client.go:186-188), and
   TFX's `_retrieve_class_path` then fails on `yaml.safe_load("")` (tensorflow/tfx#7768).
   Every input artifact without a usable type gets the type the step's own compiled inputs
   spec declares for its key (`--json_serialized_inputs_spec_args`).
2. Blessing ids. TFX converts a blessing's integer `current_model_id`/`baseline_model_id`
   into the model artifact's string name only when the executor subclasses TFX's Evaluator
   executor (tfx 1.16 kubeflow_v2_run_executor.py:142-147). Vertex's latest-blessed
   resolver looks the model up by that name (tfx 1.16 step_builder.py:775-786), so the
   same conversion is applied here to every blessing whose ids are still numbers.

Runs inside the step's container (needs TFX); the two repairs are plain functions on the
JSON documents, testable without TFX.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Mapping

ENTRYPOINT_MODULE = "pipelines.runners.entrypoint"
TFX_ENTRYPOINT_MODULE = "tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor"
BLESSING_ID_KEYS = ("current_model_id", "baseline_model_id")
_INT64_MAX = 1 << 63  # TFX's `_get_hashed_id` modulus (kubeflow_v2_entrypoint_utils.py:37).


def use_bertpipe_entrypoint(pipeline_spec: dict) -> None:
    """Makes every step compiled with TFX's container command start this module instead."""
    for executor in pipeline_spec["deploymentSpec"]["executors"].values():
        container = executor.get("container")
        if container and container.get("command") == ["python", "-m", TFX_ENTRYPOINT_MODULE]:
            container["command"] = ["python", "-m", ENTRYPOINT_MODULE]


def _has_type(artifact_type: Mapping | None) -> bool:
    """Whether TFX can import a class from this ArtifactTypeSchema (JSON form)."""
    if not artifact_type:
        return False
    if artifact_type.get("schemaTitle"):
        return True
    return bool((artifact_type.get("instanceSchema") or "").strip())


def restore_input_types(executor_input: dict, inputs_spec: Mapping) -> list[str]:
    """Gives every typeless input artifact the type the step's inputs spec declares.

    Example: an input {"name": "7", "type": {"instanceSchema": ""}, ...} under key
    "examples", with inputs_spec {"artifacts": {"examples": {"artifactType":
    {"instanceSchema": "title: tfx.Examples\\n..."}}}}, gets that artifactType.

    Returns the keys that were repaired. An artifact that already has a type keeps it.
    """
    repaired = []
    declared = inputs_spec.get("artifacts", {})
    for key, listed in executor_input.get("inputs", {}).get("artifacts", {}).items():
        for artifact in listed.get("artifacts", []):
            if _has_type(artifact.get("type")) or key not in declared:
                continue
            artifact["type"] = dict(declared[key]["artifactType"])
            repaired.append(key)
    return sorted(set(repaired))


def hashed_id(name: str) -> int:
    """The integer id TFX's entrypoint gives an artifact named `name`."""
    return int(hashlib.sha256(name.encode("utf-8")).hexdigest(), 16) % _INT64_MAX


def input_names_by_id(executor_input: Mapping) -> dict[float, str]:
    """Input artifact name by TFX's hashed id (as the JSON number it becomes in metadata)."""
    names = {}
    for listed in executor_input.get("inputs", {}).get("artifacts", {}).values():
        for artifact in listed.get("artifacts", []):
            if artifact.get("name"):
                names[float(hashed_id(artifact["name"]))] = artifact["name"]
    return names


def name_blessing_ids(executor_output: dict, names: Mapping[float, str]) -> list[str]:
    """Replaces numeric blessing ids in ExecutorOutput metadata by the artifacts' names.

    TFX writes integer custom properties into the output metadata as JSON numbers; a
    number that is the hashed id of an input artifact becomes that artifact's name.
    Returns the output keys that were changed.
    """
    changed = []
    for key, listed in executor_output.get("artifacts", {}).items():
        for artifact in listed.get("artifacts", []):
            metadata = artifact.get("metadata", {})
            for id_key in BLESSING_ID_KEYS:
                value = metadata.get(id_key)
                if isinstance(value, (int, float)) and float(value) in names:
                    metadata[id_key] = names[float(value)]
                    changed.append(key)
    return sorted(set(changed))


def main(parsed: tuple[argparse.Namespace, list[str]]) -> None:
    """Repairs the ExecutorInput, runs TFX's executor runner, repairs its ExecutorOutput."""
    from absl import logging
    from tfx.dsl.io import fileio
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_run_executor

    args, beam_args = parsed
    executor_input = json.loads(args.json_serialized_invocation_args)
    inputs_spec = json.loads(args.json_serialized_inputs_spec_args or "{}")
    repaired = restore_input_types(executor_input, inputs_spec)
    if repaired:
        logging.info("input artifact types restored from the step's inputs spec: %s", repaired)
    args.json_serialized_invocation_args = json.dumps(executor_input)
    kubeflow_v2_run_executor.main((args, beam_args))

    output_file = executor_input["outputs"]["outputFile"]
    with fileio.open(output_file, "r") as f:
        executor_output = json.loads(f.read())
    if name_blessing_ids(executor_output, input_names_by_id(executor_input)):
        with fileio.open(output_file, "w") as f:
            f.write(json.dumps(executor_output))


if __name__ == "__main__":
    from absl import app
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_run_executor

    # TFX's own flag parser, so the arguments mean exactly what they mean to TFX.
    app.run(main, flags_parser=kubeflow_v2_run_executor._parse_flags)
