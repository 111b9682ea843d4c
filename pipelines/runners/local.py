"""Runs a pipeline on this machine with TFX's BeamDagRunner or LocalDagRunner.

While the runner works, a monitor thread polls the run's ML Metadata (SQLite under the
pipeline root) and prints each component as it starts, finishes, fails or is served from
the cache, with elapsed times and a heartbeat for long steps. Polling ML Metadata, rather
than parsing logs, gives the same view under both runners.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import threading
import time
from typing import Literal, TextIO

from components.errors import BertpipeError
from pipelines import metadata, run_lock

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


@dataclasses.dataclass(frozen=True)
class LocalRunResult:
    """A finished local run: its ML Metadata record and whether every component succeeded."""

    run: metadata.RunInfo
    succeeded: bool


def default_beam_args() -> list[str]:
    """DirectRunner with one worker process per core (the data components' default)."""
    return [
        "--runner=DirectRunner",
        "--direct_running_mode=multi_processing",
        f"--direct_num_workers={os.cpu_count() or 1}",
    ]


def run_config(config, *, runner: str = "beam", out: TextIO = sys.stdout) -> LocalRunResult:
    """Resolves `config` (fetching sample corpora), builds and runs the pipeline locally.

    Every component is constructed (and so every parameter checked) before anything runs.

    Raises:
      BertpipeError: a config or input problem, including a user mistake that a component
        reported while running (named with the component).
    """
    from components.evaluator.resolver import baseline_wiring
    from pipelines import config as config_lib
    from pipelines.pipeline import create_pipeline

    config = config_lib.resolve_corpus(config, log=lambda m: print(f"bertpipe: {m}", file=out))
    if config.vocabulary.import_uri:
        # A missing or malformed vocabulary to import fails here, before any component runs.
        from components.vocabulary import load_vocab

        load_vocab(config.vocabulary.import_uri)
    try:
        os.makedirs(config.pipeline_root, exist_ok=True)
        os.rmdir(tempfile.mkdtemp(prefix=".bertpipe-probe-", dir=config.pipeline_root))
    except OSError as e:
        raise BertpipeError(
            f"cannot write in pipeline_root {config.pipeline_root} ({e.strerror}); choose a "
            "pipeline_root where you can write (--set pipeline_root=DIR)."
        ) from None
    from tfx import v1 as tfx

    baseline = (
        baseline_wiring("local", config.serving_dir)
        if config.evaluation.baseline == "latest_blessed"
        else None
    )
    pipeline = create_pipeline(
        config,
        baseline=baseline,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            metadata.metadata_path(config.pipeline_root)
        ),
        beam_pipeline_args=list(config.beam_pipeline_args) or default_beam_args(),
    )
    try:
        # One run at a time per root: two would share one ML Metadata store and cross
        # their reports.
        with run_lock.held(config.pipeline_root, log=lambda m: print(m, file=out, flush=True)):
            run = run_pipeline(pipeline, runner=runner, out=out)
    except Exception as e:
        message = _user_error(e)
        if message is None:
            raise
        failed = _failed_component(metadata.metadata_path(config.pipeline_root))
        raise BertpipeError(f"{failed or 'a component'} failed: {message}") from None
    return LocalRunResult(run, all(e.state in ("complete", "cached") for e in run.executions))


def _user_error(error: BaseException) -> str | None:
    """The message of a BertpipeError behind `error` (also when Beam re-wrapped it)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, BertpipeError):
            return str(error)
        error = error.__cause__ or error.__context__
    return None


def _failed_component(path: str) -> str | None:
    runs = metadata.list_runs(metadata.open_store(path))
    if not runs:
        return None
    failed = [e.component for e in runs[-1].executions if e.state == "failed"]
    return failed[-1] if failed else None
