"""List past local runs of a pipeline from its ML Metadata (SQLite under the pipeline root).

Each run shows its id, start time, how many components completed, were cached or failed,
and whether the model was blessed and pushed. `bertpipe artifacts --run ID` shows one run.
"""

from __future__ import annotations

import datetime

NAME = "runs"
HELP = "list past local runs (from ML Metadata)"


def add_root_arguments(parser) -> None:
    """--config / --pipeline-root: which pipeline's metadata to read (shared with artifacts)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--config", help="pipeline config YAML (default: the built-in sample)")
    group.add_argument("--pipeline-root", help="the pipeline root of the runs")


def pipeline_root(args) -> str:
    import os

    if args.pipeline_root:
        return os.path.abspath(args.pipeline_root)
    from pipelines import config as config_lib

    return config_lib.load(args.config).pipeline_root


def add_arguments(parser) -> None:
    add_root_arguments(parser)


def run(args) -> int:
    from pipelines import metadata, run_lock, summary

    root = pipeline_root(args)
    store = metadata.open_store(metadata.metadata_path(root))
    runs = metadata.list_runs(store)
    if not runs:
        print("no runs yet")
        return 0
    print(
        f"{'run id':<28} {'started':<19} {'state':<9} {'done':>4} {'cached':>6} {'failed':>6}  "
        "blessed  pushed"
    )
    live = run_lock.is_held(root)
    for i, r in enumerate(runs):
        states = [e.state for e in r.executions]
        started = datetime.datetime.fromtimestamp(r.created_ms / 1000).strftime("%Y-%m-%d %H:%M:%S")
        document = summary.evaluation_metrics(r)
        blessed = "-" if document is None else ("yes" if document.get("blessed") else "no")
        pushed = "yes" if summary.pushed_model(r) else "no"
        state = run_state(states, live=live and i == len(runs) - 1)
        print(
            f"{r.run_id:<28} {started:<19} {state:<9} {states.count('complete'):>4} "
            f"{states.count('cached'):>6} {states.count('failed'):>6}  {blessed:<7}  {pushed}"
        )
    return 0


def run_state(states: list[str], live: bool) -> str:
    """One word for a run: `running` only while a live process holds the root's run lock.

    A run whose process was killed leaves executions that ML Metadata records as running
    (or new) forever; with no live process holding the lock, it is shown as `killed`.
    """
    unfinished = any(s in ("running", "new") for s in states)
    if unfinished:
        return "running" if live else "killed"
    if "failed" in states:
        return "failed"
    if "canceled" in states:
        return "canceled"
    return "complete"
