"""`bertpipe` subcommands, one module each (see `pipelines/cli.py`)."""


def add_set_argument(parser, example: str = "training.train_steps=100") -> None:
    """`--set KEY=VALUE` (repeatable) into `args.overrides`: pipeline-config overrides, as
    `pipelines.config.load(path, overrides)` takes them (run, compile, submit)."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override a config value, e.g. --set {example} (repeatable)",
    )
