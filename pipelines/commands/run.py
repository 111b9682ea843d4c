"""Run the whole pipeline on this machine: vocabulary, examples, training, evaluation, push.

With no --config, runs the built-in sample (bert/tiny on Moby-Dick; pipelines/configs/
local.yaml). Components run under TFX's BeamDagRunner (default) or LocalDagRunner with
SQLite ML Metadata under the pipeline root, so re-running with nothing changed re-uses
cached results, and changing one setting re-runs that component and everything after it.
"""

from __future__ import annotations

import os
import sys
import time

from pipelines.commands import add_set_argument

NAME = "run"
HELP = "run the whole pipeline locally (BeamDagRunner or LocalDagRunner)"


def add_arguments(parser) -> None:
    parser.add_argument("--config", help="pipeline config YAML (default: the built-in sample)")
    parser.add_argument(
        "--runner",
        choices=("beam", "local"),
        default="beam",
        help="TFX orchestrator (default: beam = BeamDagRunner)",
    )
    add_set_argument(parser)
    parser.add_argument(
        "--print-config",
        action="store_true",
        help="print the resolved config and exit without running",
    )


def run(args) -> int:
    from pipelines import config as config_lib

    t0 = time.monotonic()
    config = config_lib.load(args.config, args.overrides)
    config_lib.check_training(config, args.config)
    if args.print_config:
        print(config_lib.to_yaml(config), end="")
        return 0
    from pipelines import console
    from pipelines.runners import local

    console.show_progress(sys.stdout, prefix=" " * 11)  # under the monitor's time column

    print(
        f"bertpipe: pipeline {config.pipeline_name}, root {config.pipeline_root}, "
        f"runner {args.runner}",
        flush=True,
    )
    result = local.run_config(config, runner=args.runner, out=sys.stdout)
    from pipelines import summary

    print("\n" + summary.format_run(result.run))
    print(f"\ntotal time: {time.monotonic() - t0:.0f}s")
    destination = summary.pushed_model(result.run)
    if destination:
        print(
            "\ntry the model:\n  bertpipe predict --model "
            f'{os.path.dirname(destination.rstrip("/"))} "The whale swam into the [MASK]."'
        )
    return 0 if result.succeeded else 1
