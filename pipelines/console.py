"""What the `bertpipe` console shows: bertpipe's own progress and results, not library chatter.

Quiet (the default), for this process and every process it starts (Beam's worker
processes, which inherit the environment):
  * Python warnings are ignored (`PYTHONWARNINGS=ignore`; google-api-core alone warns
    "You are using a non-supported Python version" on every import of each of its
    packages, in every Beam worker);
  * TensorFlow's C++ log is off (`TF_CPP_MIN_LOG_LEVEL=3`: at import TF 2.16 logs cuFFT /
    cuDNN / cuBLAS "factory already registered" at ERROR level even on a CPU-only host);
  * the Python loggers of Beam, TFX (absl) and TensorFlow show ERROR and above only, so a
    worker's WARN records forwarded by Beam's job service are hidden and its errors are not.
  * XLA's INFO lines ("XLA service ... initialized", "Compiled cluster using XLA!") are
    dropped from the file descriptor 2 that this process and its children write to, by
    `filter_native_stderr` (the `bertpipe` command only): TensorFlow 2.16's XLA logs
    through C++ absl logging, which is never initialised, so it writes every record to
    stderr whatever `TF_CPP_MIN_LOG_LEVEL` says (tensorflow/tensorflow#102212 initialises
    it, after 2.16). Only absl INFO lines and absl's one-line notice about that are dropped.
A variable the user has set is left as it is. Nothing that signals a failure is hidden:
exceptions (and the tracebacks of failed runs) print as before, a failing component is
reported by the run's monitor, and ERROR records still print.

Verbose (`bertpipe -v COMMAND` or `bertpipe COMMAND -v`) changes none of this and sets
the root logger to INFO, so the libraries' warnings and logs print as they would without
bertpipe.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings

# Third-party loggers that print through Python logging (absl carries TFX's).
LIBRARY_LOGGERS = ("apache_beam", "absl", "tensorflow", "tfx", "ml_metadata")
_QUIET_ENVIRONMENT = {"PYTHONWARNINGS": "ignore", "TF_CPP_MIN_LOG_LEVEL": "3"}
# Runs in its own process, so that it drains the pipe even when the command dies of a
# signal (a C++ CHECK failure aborts the process: its last lines must still print).
# Ignores SIGINT so that Ctrl-C still lets `bertpipe: interrupted` through.
_STDERR_FILTER = r"""
import re, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
noise = re.compile(
    rb"I\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w./-]+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$"
)
out = sys.stdout.buffer
for line in sys.stdin.buffer:
    if not noise.match(line):
        out.write(line)
        out.flush()
"""


def configure(verbose: bool) -> None:
    """Sets up warnings and library logging for one `bertpipe` command (see the module doc)."""
    if verbose:
        logging.getLogger().setLevel(logging.INFO)
        return
    for name, value in _QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    if not sys.warnoptions:  # this process read PYTHONWARNINGS at start-up: none was set
        warnings.simplefilter("ignore")
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging
    except ImportError:  # `bertpipe doctor` reports a broken install; say nothing here.
        return
    absl_logging.set_verbosity(absl_logging.ERROR)


def show_progress(stream, prefix: str = "") -> None:
    """Prints the INFO records of bertpipe's own loggers (`components`, `pipelines`) on `stream`.

    Once per process: calling it again adds no second handler, so no line prints twice.
    """
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(prefix + "%(message)s"))
    handler._bertpipe = True
    for name in ("components", "pipelines"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        if not any(getattr(h, "_bertpipe", False) for h in logger.handlers):
            logger.addHandler(handler)
        # Libraries may give the root logger a handler later (TensorFlow's saving does).
        logger.propagate = False


def filter_native_stderr() -> None:
    """Routes file descriptor 2 of this process (and of the processes it starts) through a
    filter process that drops absl INFO lines and passes everything else on unchanged."""
    sys.stderr.flush()
    original = os.dup(2)
    reader = subprocess.Popen(
        [sys.executable, "-S", "-c", _STDERR_FILTER],
        stdin=subprocess.PIPE,
        stdout=original,
        close_fds=True,
    )
    os.dup2(reader.stdin.fileno(), 2)
    reader.stdin.close()
    os.close(original)
