"""Compile the pipeline of a config for Kubeflow Pipelines (GKE) or Vertex AI Pipelines.

  bertpipe compile --target kubeflow --config pipelines/configs/kubeflow-gke-tpu.yaml \\
      --output pipeline.yaml
  bertpipe compile --target vertex --config pipelines/configs/vertex-tpu.yaml \\
      --output pipeline.json

Kubeflow: a two-document YAML, the PipelineSpec (schema 2.1) and the Kubernetes platform
config that puts the Trainer on the TPU node pool (node selectors, tolerations,
`google.com/tpu` limit); the pipeline root is given at submit time. Vertex: a PipelineJob
JSON whose Trainer launches a Vertex CustomJob on the TPU slice. Every location in the
config (corpus, pipeline root, push destination) must be gs://: the steps run on other
machines. Nothing is sent anywhere; `bertpipe submit` sends the file.
"""

from __future__ import annotations

import os

from pipelines.commands import add_set_argument

NAME = "compile"
HELP = "compile the pipeline for Kubeflow (YAML) or Vertex (JSON)"


def add_arguments(parser) -> None:
    parser.add_argument(
        "--target", required=True, choices=("kubeflow", "vertex"), help="where it will run"
    )
    parser.add_argument("--config", required=True, metavar="FILE", help="pipeline config YAML")
    parser.add_argument(
        "--output",
        required=True,
        metavar="FILE",
        help="file to write: .yaml/.yml for kubeflow, .json for vertex",
    )
    add_set_argument(parser, example="deployment.tpu.topology=2x2")


def run(args) -> int:
    from pipelines import config as config_lib
    from pipelines.runners import cloud

    config = config_lib.load(args.config, args.overrides)
    config_lib.check_training(config, args.config)
    cloud.check_config(config, args.target, args.output)
    compiled = cloud.compile_config(config, args.target)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    cloud.write(compiled, args.output)
    print(f"bertpipe: compiled {config.pipeline_name} for {args.target}: {args.output}")
    for line in cloud.describe(compiled, config):
        print(f"  {line}")
    print(f"submit it:\n  {submit_hint(args, config)}")
    return 0


def submit_hint(args, config) -> str:
    """The `bertpipe submit` command line for the file just written."""
    if args.target == "kubeflow":
        host = config.deployment.kubeflow.host or "http://localhost:8080"
        return (
            f"bertpipe submit --target kubeflow --package {args.output} --host {host} "
            f"--pipeline-root {config.pipeline_root}"
        )
    vertex = config.deployment.vertex
    return (
        f"bertpipe submit --target vertex --package {args.output} "
        f"--project {vertex.project} --region {vertex.region}"
    )
