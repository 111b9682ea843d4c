"""Runs a pipeline on this machine with TFX's BeamDagRunner or LocalDagRunner.

While the runner works, a monitor thread polls the run's ML Metadata (SQLite under the
pipeline root) and prints each component as it starts, finishes, fails or is served from
the cache, with elapsed times and a heartbeat for long steps. Polling ML Metadata, rather
than parsing logs, gives the same view under both runners.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Literal, TextIO

from pipelines import metadata

RUNNERS = ("beam", "local")
_HEARTBEAT_S = 30.0
_POLL_S = 0.5


def run_pipeline(
    pipeline, *, runner: Literal["beam", "local"] = "beam", out: TextIO = sys.stdout
) -> metadata.RunInfo:
    """Runs `pipeline` to completion and returns its run as recorded in ML Metadata.

    Args:
      pipeline: a `tfx.dsl.Pipeline` whose metadata connection is a SQLite file.
      runner: 'beam' (BeamDagRunner) or 'local' (LocalDagRunner).
      out: where progress lines go.

    Raises:
      Whatever the runner raises when a component fails (after the monitor has reported it).
    """
    if runner not in RUNNERS:
        raise ValueError(f"runner must be one of {RUNNERS}, got {runner!r}")
    path = pipeline.metadata_connection_config.sqlite.filename_uri
    store = metadata.open_store(path, must_exist=False)
    known = {r.run_id for r in metadata.list_runs(store)}
    monitor = _Monitor(path, known, out)
    monitor.start()
    try:
        _runner(runner).run(pipeline)
    finally:
        monitor.stop()
    new_runs = [r for r in metadata.list_runs(metadata.open_store(path)) if r.run_id not in known]
    return new_runs[-1]


def _runner(name: str):
    if name == "beam":
        from tfx.orchestration.beam.beam_dag_runner import BeamDagRunner

        return BeamDagRunner()
    from tfx.v1.orchestration import LocalDagRunner

    return LocalDagRunner()


class _Monitor(threading.Thread):
    """Prints component state changes of the new run as ML Metadata records them."""

    def __init__(self, path: str, known_runs: set[str], out: TextIO):
        super().__init__(name="bertpipe-run-monitor", daemon=True)
        self._path, self._known, self._out = path, known_runs, out
        self._stop_event = threading.Event()
        self._seen: dict[str, str] = {}
        self._last_beat: dict[str, float] = {}
        self._t0 = time.monotonic()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)
        self._poll()  # Report the final states.

    def run(self) -> None:
        while not self._stop_event.wait(_POLL_S):
            self._poll()

    def _poll(self) -> None:
        try:
            store = metadata.open_store(self._path, must_exist=False)
            runs = [r for r in metadata.list_runs(store) if r.run_id not in self._known]
        except Exception:  # The runner may hold a write lock; try again next tick.
            return
        if not runs:
            return
        now = time.monotonic()
        for execution in runs[-1].executions:
            name, state = execution.component, execution.state
            previous = self._seen.get(name)
            if state != previous:
                self._seen[name] = state
                self._last_beat[name] = now
                self._print(name, state, execution.seconds if state != "running" else None)
            elif state == "running" and now - self._last_beat[name] >= _HEARTBEAT_S:
                self._last_beat[name] = now
                self._print(name, "still running", time.time() - execution.start_ms / 1000.0)

    def _print(self, component: str, state: str, seconds: float | None) -> None:
        elapsed = _clock(time.monotonic() - self._t0)
        took = f"  {_duration(seconds)}" if seconds is not None else ""
        print(f"[{elapsed}] {component:<22} {state}{took}", file=self._out, flush=True)


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{int(seconds) // 60}m{int(seconds) % 60:02d}s"
