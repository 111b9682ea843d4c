"""Beam pipeline options from command-line flags, rejecting flags Beam does not know.

Beam itself drops an unknown flag with a log line, so a typo such as `--direct_num_worker=2`
would silently run with defaults; here it is a `BertpipeError` instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from components.errors import BertpipeError


def pipeline_options(flags: Sequence[str], command: str = "bertpipe"):
    """`PipelineOptions` for `flags` (e.g. ['--runner=DirectRunner']).

    Raises:
      BertpipeError: a flag that is no Beam pipeline option, or a stray value.
    """
    from apache_beam.options.pipeline_options import PipelineOptions

    flags = list(flags)
    for i, flag in enumerate(flags):
        follows_flag = i > 0 and flags[i - 1].startswith("--") and "=" not in flags[i - 1]
        if not flag.startswith("-") and not follows_flag:
            raise BertpipeError(f"unexpected argument {flag!r} for {command}; see --help.")
    options = PipelineOptions(flags)
    beam_logger = logging.getLogger("apache_beam.options.pipeline_options")
    level = beam_logger.level
    beam_logger.setLevel(logging.ERROR)  # Beam warns about the flags reported below.
    try:
        known = set(options.get_all_options())
        unknown = set(options.get_all_options(retain_unknown_options=True)) - known
    finally:
        beam_logger.setLevel(level)
    if unknown:
        typed = [f.split("=")[0] for f in flags if f.startswith("-")]
        names = ", ".join(f for f in typed if f.lstrip("-").replace("-", "_") in unknown)
        raise BertpipeError(
            f"unknown option {names}: neither a {command} option nor a Beam pipeline option; "
            f"see `{command} --help` (Beam options: --runner, --direct_num_workers, "
            "--direct_running_mode, ...)."
        )
    return options
