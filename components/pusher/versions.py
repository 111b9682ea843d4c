"""Versioned model directories at a push destination, never half written.

Layout (what TF Serving's file-system source watches, and what the evaluator's
resolver-free baseline reads):

  <base>/<version>/                  one exported model (the trainer's export directory)
  <base>/<version>/bertpipe_push.json  the manifest: every file of the version and its size,
                                     written last
  <base>/.staging-<version>-<id>/    a push in progress (TF Serving ignores names that are
                                     not integers; so does `complete_versions`)

TFX 1.16's standard Pusher copies straight into `<base>/<version>/` (saved_model.pb last),
so a crash mid-copy leaves a version directory that looks like a model to anyone who does
not check every file; its copy also skips every file matching `saved_model\\.pb`
anywhere but at the top, which drops `encoder/saved_model.pb` of our exports. `publish`
copies everything into a staging directory, writes the manifest, then moves the staging
directory into place:
  * local filesystems: one `rename`, atomic: the version appears complete or not at all;
  * object stores (gs://, s3://), where a directory rename is a copy of each object:
    files are moved one by one, the top-level saved_model.pb last but one and the manifest
    last, so TF Serving sees saved_model.pb only after the variables, and a version is
    complete exactly when its manifest exists and every listed file has its size.
`complete_versions` (the baseline finder) accepts only versions that pass that check, so
an interrupted push is never taken as the baseline, on any filesystem.

Version numbers are Unix seconds as TFX's Pusher writes them, but never below the newest
existing version + 1, so a later push always gets a higher number (TF Serving serves the
highest) even with two pushes in one second or a clock behind the last pusher's.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import time
import uuid
from collections.abc import Callable

import tensorflow as tf

from components.errors import BertpipeError

MANIFEST = "bertpipe_push.json"
SAVED_MODEL = "saved_model.pb"
_STAGING_PREFIX = ".staging-"
_log = logging.getLogger(__name__)


def _join(*parts: str) -> str:
    return posixpath.join(*parts) if "://" in parts[0] else os.path.join(*parts)


def _files(root: str) -> list[str]:
    """Every file under `root`, as sorted paths relative to it."""
    root = root.rstrip("/")
    found = []
    for directory, _, names in tf.io.gfile.walk(root):
        rel = os.path.relpath(directory, root) if "://" not in root else directory[len(root) :]
        rel = rel.strip("/")
        for name in names:
            found.append(name if rel in ("", ".") else f"{rel}/{name}")
    return sorted(found)


def version_numbers(base: str) -> list[int]:
    """The integer-named directories under `base`, newest first (complete or not)."""
    if not tf.io.gfile.isdir(base):
        return []
    numbers = []
    for name in tf.io.gfile.listdir(base):
        name = name.rstrip("/")
        if name.isdigit():
            numbers.append(int(name))
    return sorted(numbers, reverse=True)


def check_complete(version_dir: str) -> str | None:
    """None if `version_dir` is a complete push, else why not (one line)."""
    manifest_path = _join(version_dir, MANIFEST)
    if not tf.io.gfile.exists(manifest_path):
        return f"no {MANIFEST} (an interrupted or foreign push)"
    try:
        with tf.io.gfile.GFile(manifest_path) as f:
            manifest = json.load(f)
        listed = manifest["files"]
    except (ValueError, KeyError, TypeError) as e:
        return f"unreadable {MANIFEST}: {e}"
    for rel, size in listed.items():
        path = _join(version_dir, rel)
        if not tf.io.gfile.exists(path):
            return f"{rel} is missing"
        if tf.io.gfile.stat(path).length != size:
            return f"{rel} has {tf.io.gfile.stat(path).length} bytes, the manifest says {size}"
    return None


def complete_versions(base: str) -> list[tuple[int, str]]:
    """(version, directory) of every complete version under `base`, newest first.

    Incomplete versions are skipped with a warning naming the reason.
    """
    result = []
    for number in version_numbers(base):
        path = _join(base, str(number))
        problem = check_complete(path)
        if problem:
            _log.warning("skipping %s: %s", path, problem)
        else:
            result.append((number, path))
    return result


def latest_complete_version(base: str) -> str | None:
    """The directory of the newest complete version under `base`, or None."""
    versions = complete_versions(base)
    return versions[0][1] if versions else None


def next_version(base: str, now: float | None = None) -> int:
    """Unix seconds, but above every existing version (see the module docstring)."""
    stamp = int(time.time() if now is None else now)
    existing = version_numbers(base)
    return max(stamp, existing[0] + 1) if existing else stamp


def _copy_tree(src: str, dst: str) -> dict[str, int]:
    """Copies every file of `src` under `dst`; returns {relative path: size}."""
    sizes = {}
    for rel in _files(src):
        target = _join(dst, rel)
        tf.io.gfile.makedirs(posixpath.dirname(target) if "://" in dst else os.path.dirname(target))
        tf.io.gfile.copy(_join(src, rel), target, overwrite=True)
        sizes[rel] = tf.io.gfile.stat(target).length
    return sizes


def _move_files_in_order(staging: str, final: str) -> None:
    """Object-store move: every file, then saved_model.pb, then the manifest last."""
    rels = _files(staging)
    last = [r for r in (SAVED_MODEL, MANIFEST) if r in rels]
    for rel in [r for r in rels if r not in last] + last:
        target = _join(final, rel)
        tf.io.gfile.makedirs(
            posixpath.dirname(target) if "://" in final else os.path.dirname(target)
        )
        tf.io.gfile.rename(_join(staging, rel), target, overwrite=True)
    tf.io.gfile.rmtree(staging)


def publish(
    model_dir: str,
    base: str,
    *,
    version: int | None = None,
    atomic_rename: bool | None = None,
    add_files: Callable[[str], None] | None = None,
) -> tuple[str, str]:
    """Copies the export `model_dir` to `<base>/<version>/`, complete or not at all.

    Args:
      model_dir: an exported model (must hold saved_model.pb).
      base: the push destination (local directory or gs://...).
      version: the version number; default `next_version(base)`.
      atomic_rename: move the staged copy with one directory rename (local filesystems);
        default: True for local paths, False for URLs.
      add_files: called with the staging directory after the copy, to write more files
        into the version (e.g. the Hugging Face format); the manifest lists them too.

    Returns:
      (version as a string, the version directory).

    Raises:
      BertpipeError: `model_dir` is not a SavedModel, or the version already exists.
    """
    if not tf.io.gfile.exists(_join(model_dir, SAVED_MODEL)):
        raise BertpipeError(
            f"cannot push {model_dir!r}: it has no {SAVED_MODEL}; push the trainer's export "
            "directory (<model artifact>/Format-Serving)."
        )
    tf.io.gfile.makedirs(base)
    number = next_version(base) if version is None else version
    final = _join(base, str(number))
    if tf.io.gfile.exists(final):
        raise BertpipeError(f"push destination {final!r} already exists; versions are immutable.")
    staging = _join(base, f"{_STAGING_PREFIX}{number}-{uuid.uuid4().hex[:8]}")
    try:
        sizes = _copy_tree(model_dir, staging)
        if add_files is not None:
            add_files(staging)
            sizes = {rel: tf.io.gfile.stat(_join(staging, rel)).length for rel in _files(staging)}
        manifest = {"files": sizes, "source": model_dir, "version": number}
        with tf.io.gfile.GFile(_join(staging, MANIFEST), "w") as f:
            json.dump(manifest, f, indent=1, sort_keys=True)
        if atomic_rename if atomic_rename is not None else "://" not in base:
            tf.io.gfile.rename(staging, final)
        else:
            _move_files_in_order(staging, final)
    except BaseException:
        # A clean failure leaves nothing; a killed process leaves only the staging dir,
        # which no reader takes for a version.
        if tf.io.gfile.exists(staging):
            tf.io.gfile.rmtree(staging)
        raise
    _log.info("pushed %s to %s", model_dir, final)
    return str(number), final


def resolve_model_dir(path: str, what: str = "model") -> str:
    """An export directory, or a push destination's newest complete version.

    Args:
      path: an exported model (holds saved_model.pb) or a push base directory.
      what: how to name `path` in messages (e.g. "--model").

    Raises:
      BertpipeError: `path` is neither.
    """
    if tf.io.gfile.exists(_join(path, SAVED_MODEL)):
        return path
    latest = latest_complete_version(path)
    if latest is not None:
        _log.info("%s %s: using its newest complete version %s", what, path, latest)
        return latest
    incomplete = version_numbers(path)
    detail = f" (versions {incomplete[:5]} are incomplete pushes)" if incomplete else ""
    raise BertpipeError(
        f"{what} {path!r} is not an exported model (no {SAVED_MODEL}) nor a push destination "
        f"with a complete version{detail}; give the trainer's export directory (TFX: "
        "<Model artifact>/Format-Serving) or the Pusher's base directory."
    )
