"""Test helper: a small directory shaped like a bertpipe export (no model inside)."""

from __future__ import annotations

import json
import os

import tensorflow as tf


def write_export_like(path: str, value: float = 1.0) -> str:
    """saved_model.pb + variables/ + assets/ + encoder/saved_model.pb, like export_model."""
    module = tf.Module()
    module.v = tf.Variable(value)
    module.f = tf.function(lambda: module.v * 2.0, input_signature=[])
    tf.saved_model.save(module, path)
    tf.saved_model.save(module, os.path.join(path, "encoder"))
    os.makedirs(os.path.join(path, "assets"), exist_ok=True)
    with open(os.path.join(path, "assets", "bertpipe_model.json"), "w") as f:
        f.write(json.dumps({"global_step": int(value)}) + "\n")
    return path


def snapshot(root: str) -> dict[str, tuple[bytes, int]]:
    """Every file under `root` -> (bytes, mtime in ns): to prove a tree was not touched."""
    files = {}
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, root)] = (f.read(), os.stat(path).st_mtime_ns)
    return files
