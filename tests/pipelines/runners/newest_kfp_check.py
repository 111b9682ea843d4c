"""Loads compiled bertpipe files with the newest kfp and kfp-kubernetes (run in their venv).

Not imported by bertpipe or its tests: `test_newest_kfp.py` runs it with the Python of a
separate venv under .cache/ holding the newest kfp and kfp-kubernetes from PyPI, and reads
the JSON it prints:

    {"kfp": "<version>", "kfp_kubernetes": "<version>",
     "files": {"<path>": {"reloaded": {...}} | {"error": "<message>"}}}

Per file: the PipelineSpec (Kubeflow document 1; Vertex `pipelineSpec`), the platform
config and each Kubernetes executor config (kfp-kubernetes' KubernetesExecutorConfig), and
the whole Vertex PipelineJob are parsed strictly by their protos; the file is loaded as a
component (`kfp.components.load_component_from_file`) and compiled again by the newest
`kfp.compiler.Compiler`, and `reloaded` returns what that compile kept of each task's
retry policy and each executor's resources, for the caller to compare.
"""

import json
import os
import sys
import tempfile
from importlib import metadata

import yaml
from google.protobuf import json_format
from kfp import compiler
from kfp.components import load_component_from_file
from kfp.kubernetes import kubernetes_executor_config_pb2
from kfp.pipeline_spec import pipeline_spec_pb2


def check(path: str, scratch: str) -> dict:
    if path.endswith(".json"):
        with open(path) as f:
            job = json.load(f)
        json_format.ParseDict(job, pipeline_spec_pb2.PipelineJob())
        documents = [job["pipelineSpec"]]
        path = os.path.join(scratch, "pipeline-spec.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(documents[0], f)
    else:
        with open(path) as f:
            documents = list(yaml.safe_load_all(f))
    json_format.ParseDict(documents[0], pipeline_spec_pb2.PipelineSpec())
    if len(documents) > 1:
        json_format.ParseDict(documents[1], pipeline_spec_pb2.PlatformSpec())
        executors = documents[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
        for config in executors.values():
            json_format.ParseDict(config, kubernetes_executor_config_pb2.KubernetesExecutorConfig())
    output = os.path.join(scratch, "recompiled.yaml")
    compiler.Compiler().compile(load_component_from_file(path), output)
    with open(output) as f:
        spec = next(yaml.safe_load_all(f))
    tasks = spec["root"]["dag"]["tasks"]
    return {
        "retry": {name: task.get("retryPolicy") for name, task in tasks.items()},
        "resources": {
            name: executor["container"].get("resources")
            for name, executor in spec["deploymentSpec"]["executors"].items()
            if "container" in executor  # Not the Resolver's.
        },
    }


def main(paths: list[str]) -> None:
    files = {}
    for path in paths:
        with tempfile.TemporaryDirectory() as scratch:
            try:
                files[path] = {"reloaded": check(path, scratch)}
            except Exception as e:  # Reported to the test, which names the file and error.
                files[path] = {"error": f"{type(e).__name__}: {e}"}
    versions = {
        "kfp": metadata.version("kfp"),
        "kfp_kubernetes": metadata.version("kfp-kubernetes"),
    }
    print(json.dumps({**versions, "files": files}))


if __name__ == "__main__":
    main(sys.argv[1:])
