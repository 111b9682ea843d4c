"""Submit the pipeline to Kubeflow Pipelines or Vertex AI Pipelines; print the run's id and URL.

  bertpipe submit --target kubeflow --config pipelines/configs/kubeflow-gke-tpu.yaml \\
      --host http://localhost:8080 [--namespace NS] [--experiment NAME] [--run-name NAME] \\
      [--pipeline-root gs://BUCKET/root] [--service-account KSA]
  bertpipe submit --target vertex --config pipelines/configs/vertex-tpu.yaml \\
      --project P --region R [--service-account SA]
  bertpipe submit --target kubeflow --package pipeline.yaml --host URL --pipeline-root gs://...

With --config the pipeline is compiled first (as `bertpipe compile` would, into a temporary
file); with --package a compiled file is sent as it is (a --config then only supplies
defaults). Flags override the config's `deployment.kubeflow` / `deployment.vertex` sections
(and, when compiling, its pipeline root). Kubeflow: the run goes through `kfp.Client` to the
KFP 2.x API; its pipeline root is --pipeline-root, else the config's, else the one the
package was compiled for. Vertex: the run goes through `aiplatform.PipelineJob` with
Application Default Credentials (`gcloud auth application-default login`). A refused or
unreachable API is reported in one line naming what to check.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile

from pipelines.commands import add_set_argument

NAME = "submit"
HELP = "submit the pipeline to Kubeflow or Vertex (compiling it first unless --package)"


def add_arguments(parser) -> None:
    parser.add_argument(
        "--target", required=True, choices=("kubeflow", "vertex"), help="where it runs"
    )
    parser.add_argument("--package", metavar="FILE", help="a file from bertpipe compile")
    parser.add_argument("--config", metavar="FILE", help="pipeline config YAML (compiled first)")
    add_set_argument(parser, example="deployment.tpu.topology=2x2")
    parser.add_argument("--run-name", help="the run's display name (default: generated)")
    parser.add_argument("--pipeline-root", metavar="GS_PATH", help="gs:// pipeline root")
    parser.add_argument("--service-account", help="identity the run's steps use")
    kfp = parser.add_argument_group("kubeflow")
    kfp.add_argument("--host", help="KFP API base URL, e.g. http://localhost:8080")
    kfp.add_argument("--namespace", help="Kubeflow profile namespace (multi-user KFP)")
    kfp.add_argument("--experiment", help="experiment name (created if missing)")
    gcp = parser.add_argument_group("vertex")
    gcp.add_argument("--project", help="Google Cloud project id")
    gcp.add_argument("--region", help="Vertex AI region, e.g. us-central1")
    gcp.add_argument(
        "--api-endpoint", help="a non-default Vertex API endpoint (e.g. Private Service Connect)"
    )
    gcp.add_argument(
        "--api-transport", choices=("grpc", "rest"), default="grpc", help="default: grpc"
    )


def run(args) -> int:
    from components.errors import BertpipeError

    if not args.package and not args.config:
        raise BertpipeError(
            "submit needs --config FILE (compiled first) or --package FILE (from bertpipe compile)."
        )
    if args.package and args.overrides:
        raise BertpipeError(
            "--set changes the config before compiling; with --package nothing is compiled. "
            "Use --config instead, or recompile the package."
        )
    config = _config(args)
    deployment = config.deployment if config else None
    if args.target == "vertex" and deployment is not None:
        # Baked into the compiled TPU training job, so they must be set before compiling.
        deployment = dataclasses.replace(deployment, vertex=_vertex_section(deployment, args))
        config = dataclasses.replace(config, deployment=deployment)
    if args.target == "kubeflow":
        _kubeflow_host(config, args)  # Fails before compiling when there is none.
    with tempfile.TemporaryDirectory(prefix="bertpipe-submit-") as scratch:
        package = args.package or _compile(config, args.target, scratch)
        if args.target == "kubeflow":
            submitted = _submit_kubeflow(package, config, args)
        else:
            submitted = _submit_vertex(package, config, args)
    print(f"bertpipe: submitted run {submitted.run_id}")
    print(f"  {submitted.url}")
    return 0


def _config(args):
    if not args.config:
        return None
    from pipelines import config as config_lib

    config = config_lib.load(args.config, args.overrides)
    if args.pipeline_root:
        config = dataclasses.replace(config, pipeline_root=args.pipeline_root)
    return config


def _compile(config, target: str, directory: str) -> str:
    from pipelines.runners import cloud

    path = os.path.join(directory, "pipeline.yaml" if target == "kubeflow" else "pipeline.json")
    cloud.check_config(config, target, path)
    compiled = cloud.compile_config(config, target)
    cloud.write(compiled, path)
    print(f"bertpipe: compiled {config.pipeline_name} for {target}")
    for line in cloud.describe(compiled, config):
        print(f"  {line}")
    return path


def _kubeflow_host(config, args) -> str:
    from components.errors import BertpipeError

    host = args.host or (config.deployment.kubeflow.host if config else "")
    if not host:
        raise BertpipeError(
            "no KFP host: pass --host (e.g. http://localhost:8080 through `kubectl -n "
            "bertpipe port-forward svc/ml-pipeline-ui 8080:80`) or set deployment.kubeflow.host."
        )
    return host


def _submit_kubeflow(package: str, config, args):
    from pipelines.deployment import KubeflowConfig
    from pipelines.runners import kubeflow

    defaults = config.deployment.kubeflow if config else KubeflowConfig()
    return kubeflow.submit_kubeflow(
        package,
        host=_kubeflow_host(config, args),
        namespace=args.namespace or defaults.namespace or None,
        experiment=args.experiment or defaults.experiment,
        run_name=args.run_name,
        pipeline_root=args.pipeline_root or (config.pipeline_root if config else None),
        service_account=args.service_account or defaults.service_account or None,
    )


def _vertex_section(deployment, args):
    section = deployment.vertex
    return dataclasses.replace(
        section,
        project=args.project or section.project,
        region=args.region or section.region,
        service_account=args.service_account or section.service_account,
    )


def _submit_vertex(package: str, config, args):
    from components.errors import BertpipeError
    from pipelines.runners import vertex

    section = config.deployment.vertex if config else None
    project = args.project or (section.project if section else "")
    region = args.region or (section.region if section else "")
    if not project or not region:
        raise BertpipeError(
            "Vertex needs a project and a region: pass --project and --region, or set "
            "deployment.vertex.project/region in --config."
        )
    vertex.check_package_matches(package, project=project, region=region)
    return vertex.submit_vertex(
        package,
        project=project,
        region=region,
        # A compiled root is kept in the JSON; only an explicit flag replaces it.
        pipeline_root=args.pipeline_root if args.package else None,
        service_account=args.service_account or (section.service_account if section else None),
        display_name=args.run_name,
        api_endpoint=args.api_endpoint,
        api_transport=args.api_transport,
    )
