"""Command outputs that appear only when complete, and never mix two runs.

A command writing a directory (`bertpipe examples --output DIR`, `bertpipe vocab --output
DIR`) writes it aside, in a sibling `.DIR.partial-<id>` directory, and moves it to DIR only
after the job succeeded; a failed or killed run leaves no DIR that a later step would
accept as good (at most the sibling, which nothing reads). A DIR that already holds files
is refused unless the user asks to replace it; then it is replaced whole, never merged.

On a local filesystem the move is one `rename` (atomic). On object stores (`gs://`)
directories are name prefixes and `tf.io.gfile.rename` moves one object at a time, so the
move itself is not atomic there; the job's own output is still complete before it starts.
"""

from __future__ import annotations

import contextlib
import posixpath
import uuid
from collections.abc import Iterator

from components.errors import BertpipeError


def _join(base: str, name: str) -> str:
    return posixpath.join(base, name)


def _split(path: str) -> tuple[str, str]:
    path = path.rstrip("/")
    parent, name = posixpath.split(path)
    return parent or ".", name


def check_writable(output: str, replace: bool, flag: str = "--replace") -> None:
    """Refuses an output directory that holds files (unless `replace`), before any work.

    Raises:
      BertpipeError: `output` is a file, holds files and `replace` is False, or its parent
        cannot be written.
    """
    import tensorflow as tf

    if tf.io.gfile.exists(output) and not tf.io.gfile.isdir(output):
        raise BertpipeError(
            f"output {output} is a file, not a directory; choose a directory for --output."
        )
    if tf.io.gfile.isdir(output) and not replace:
        entries = sorted(tf.io.gfile.listdir(output))
        if entries:
            shown = ", ".join(e.rstrip("/") for e in entries[:3])
            raise BertpipeError(
                f"output directory {output} already holds {len(entries)} entr"
                f"{'y' if len(entries) == 1 else 'ies'} ({shown}); choose a new --output, or "
                f"pass {flag} to replace it whole (its files are deleted, never merged)."
            )
    parent, _ = _split(output)
    try:
        tf.io.gfile.makedirs(parent)
    except tf.errors.OpError as e:
        raise BertpipeError(
            f"cannot create the output's parent directory {parent}: {e.message}; choose an "
            "--output where you can write."
        ) from None
    if "://" not in parent:
        _check_local_writable(parent)


def _check_local_writable(parent: str) -> None:
    """Creates and removes a directory in `parent`: the real test, for root too.

    `os.access` says yes to root on a read-only filesystem, so probe instead.
    """
    import os
    import tempfile

    try:
        os.rmdir(tempfile.mkdtemp(prefix=".bertpipe-probe-", dir=parent))
    except OSError as e:
        raise BertpipeError(
            f"cannot write in {parent} ({e.strerror}); choose an --output where you can write."
        ) from None


@contextlib.contextmanager
def written_aside(output: str, replace: bool) -> Iterator[str]:
    """Yields a staging directory; moves it to `output` when the block succeeds.

    On an exception (or a signal that unwinds the block) the staging directory is removed
    and `output` is left as it was. Call `check_writable` first, before expensive work.
    """
    import tensorflow as tf

    parent, name = _split(output)
    token = uuid.uuid4().hex[:8]
    staging = _join(parent, f".{name}.partial-{token}")
    tf.io.gfile.makedirs(staging)
    try:
        yield staging
    except BaseException:
        with contextlib.suppress(tf.errors.OpError):
            tf.io.gfile.rmtree(staging)
        raise
    old = None
    if tf.io.gfile.exists(output):
        if not replace and tf.io.gfile.listdir(output):
            # Someone wrote there while we ran: never merge, keep both whole.
            raise BertpipeError(
                f"output directory {output} was filled by someone else while this run "
                f"worked; this run's complete output is in {staging}."
            )
        old = _join(parent, f".{name}.replaced-{token}")
        tf.io.gfile.rename(output, old)
    tf.io.gfile.rename(staging, output)
    if old is not None:
        tf.io.gfile.rmtree(old)
