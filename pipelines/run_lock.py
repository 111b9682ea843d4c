"""One `bertpipe run` at a time per pipeline root: a lock file under the root.

Two local runs on one root would both write the same ML Metadata store and each read the
other's executions as its own, so the second is refused before any component runs. The
lock is an advisory `flock` on `<pipeline root>/.bertpipe-run.lock`: the kernel releases it
when the holding process ends, however it ends (SIGKILL included), so a lock left by a dead
run never blocks the next one. The file holds the holder's pid, host and start time, for
the refusal message, for the note when a later run takes a stale lock over, and for
`bertpipe runs`, which shows a run no live process holds as `killed` instead of `running`.

flock is reliable on local filesystems; on NFS it depends on the server's lock support.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import socket
from collections.abc import Callable, Iterator

from components.errors import BertpipeError

LOCK_FILENAME = ".bertpipe-run.lock"


def lock_path(pipeline_root: str) -> str:
    """The lock file of the runs under `pipeline_root`."""
    return os.path.join(pipeline_root, LOCK_FILENAME)


def _describe(holder: dict) -> str:
    return (
        f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}, started "
        f"{holder.get('started', '?')}"
    )


def _read(f) -> dict:
    f.seek(0)
    try:
        holder = json.loads(f.read() or "{}")
    except json.JSONDecodeError:
        return {}
    return holder if isinstance(holder, dict) else {}


@contextlib.contextmanager
def held(pipeline_root: str, log: Callable[[str], None]) -> Iterator[None]:
    """Holds the run lock of `pipeline_root` for the block.

    Args:
      pipeline_root: an existing local directory.
      log: prints one line (used when a stale lock of a dead run is taken over).

    Raises:
      BertpipeError: another live process holds the lock.
    """
    path = lock_path(pipeline_root)
    f = open(path, "a+", encoding="utf-8")  # noqa: SIM115  closed below, which unlocks
    try:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BertpipeError(
                f"pipeline root {pipeline_root} is in use by another bertpipe run "
                f"({_describe(_read(f))}); wait for it to end, or give this run another "
                "pipeline_root (--set pipeline_root=DIR)."
            ) from None
        previous = _read(f)
        if previous:
            log(
                f"bertpipe: took over the run lock of {pipeline_root} from a run that is no "
                f"longer running ({_describe(previous)})"
            )
        _write(f, {"pid": os.getpid(), "host": socket.gethostname(), "started": _now()})
        try:
            yield
        finally:
            _write(f, None)  # An ended run (failed or not) leaves nothing to take over.
    finally:
        f.close()


def _now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def _write(f, holder: dict | None) -> None:
    f.seek(0)
    f.truncate()
    if holder is not None:
        json.dump(holder, f)
    f.flush()


def is_held(pipeline_root: str) -> bool:
    """Whether a live process holds the run lock of `pipeline_root` now."""
    path = lock_path(pipeline_root)
    if not os.path.exists(path):
        return False
    with open(path, encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False
