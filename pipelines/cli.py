"""The `bertpipe` command.

Each subcommand is a module in `pipelines/commands/` with `NAME`, `HELP`,
`add_arguments(parser)` and `run(args) -> int`; command modules import only the standard
library at module level, so `bertpipe --help` is instant and works in a broken environment.
A command that runs Beam sets `BEAM_ARGS = True`: the flags it does not define reach it as
`args.beam_args` (e.g. `--runner`, `--direct_num_workers`) instead of being rejected.
A `BertpipeError` (a user mistake) is printed as one line with no traceback.
Library warnings and logs are hidden unless `-v/--verbose` is given (`pipelines/console.py`).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from components.errors import BertpipeError, Preempted
from pipelines import __version__, console

# Only commands that work are listed; later work adds its module name here.
COMMANDS: tuple[str, ...] = (
    "run",
    "compile",
    "submit",
    "runs",
    "artifacts",
    "doctor",
    "corpus",
    "vocab",
    "examples",
    "train",
    "evaluate",
    "predict",
    "convert",
)

_PROG = "bertpipe"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description=(
            "TFX components and Kubeflow/Vertex pipelines for BERT masked-LM pretraining: "
            "corpus -> vocabulary -> examples -> trainer -> evaluator -> pusher."
        ),
        epilog="`bertpipe COMMAND --help` describes each command.",
    )
    parser.add_argument("--version", action="version", version=f"{_PROG} {__version__}")
    _add_verbose(parser, default=False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"pipelines.commands.{name}")
        sub = subparsers.add_parser(
            module.NAME,
            help=module.HELP,
            description=module.__doc__.strip(),
            # The docstrings are written as paragraphs and examples: print them as written.
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sub)
        # SUPPRESS: `bertpipe -v run` keeps the top-level value when `run` gets no -v.
        _add_verbose(sub, default=argparse.SUPPRESS)
        sub.set_defaults(
            _run=module.run,
            _needs_stack=getattr(module, "NEEDS_STACK", True),
            _beam_args=getattr(module, "BEAM_ARGS", False),
        )
    return parser


def _add_verbose(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default,
        help="also show the libraries' warnings and logs (Beam, TFX, TensorFlow)",
    )


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the process exit status."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "_beam_args", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.beam_args = extra
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    if args._needs_stack and sys.version_info[:2] != (3, 10):
        print(
            f"{_PROG}: error: Python {sys.version.split()[0]} cannot run this command; "
            "bertpipe needs Python 3.10 (tfx 1.16 requires <3.11). Use the .venv that "
            "`make setup` builds, and run `bertpipe doctor` there.",
            file=sys.stderr,
        )
        return 2
    console.configure(verbose=args.verbose)
    if argv is None and not args.verbose:  # the `bertpipe` command, not a caller's main([...])
        console.filter_native_stderr()
    try:
        return int(args._run(args) or 0)
    except BertpipeError as e:
        print(f"{_PROG}: error: {e}", file=sys.stderr)
        return 2
    except Preempted as e:
        print(f"{_PROG}: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        print(f"{_PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
