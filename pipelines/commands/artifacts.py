"""Show one local run (the latest by default): each component's status and time, every
artifact it wrote and where, the evaluation metrics, the blessing and the pushed model."""

from __future__ import annotations

NAME = "artifacts"
HELP = "show a local run's components and artifacts (from ML Metadata)"


def add_arguments(parser) -> None:
    from pipelines.commands.runs import add_root_arguments

    add_root_arguments(parser)
    parser.add_argument("--run", help="run id from `bertpipe runs` (default: the latest)")


def run(args) -> int:
    from pipelines import metadata, summary
    from pipelines.commands.runs import pipeline_root

    store = metadata.open_store(metadata.metadata_path(pipeline_root(args)))
    print(summary.format_run(metadata.get_run(store, args.run)))
    return 0
