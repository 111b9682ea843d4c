"""Reading ML Metadata: local pipeline runs, their component executions and artifacts.

What `bertpipe runs` / `bertpipe artifacts` and the end-of-run summary show, instead of a
person digging through the SQLite store by hand. TFX records, per run, a `pipeline_run`
context; each component execution is attached to it and to a `node` context named
`<pipeline>.<ComponentId>`; OUTPUT events link executions to the artifacts they wrote.
"""

from __future__ import annotations

import dataclasses
import os

from components.errors import BertpipeError

METADATA_FILENAME = "metadata.sqlite"

# ml_metadata Execution.State values, by name.
_STATES = {
    0: "unknown",
    1: "new",
    2: "running",
    3: "complete",
    4: "failed",
    5: "cached",
    6: "canceled",
}
_OUTPUT_EVENTS = (4, 6)  # Event.OUTPUT, Event.DECLARED_OUTPUT


@dataclasses.dataclass(frozen=True)
class ArtifactInfo:
    """One artifact an execution wrote (or re-used, when cached)."""

    key: str
    type_name: str
    uri: str
    properties: dict


@dataclasses.dataclass(frozen=True)
class ExecutionInfo:
    """One component execution within a run."""

    component: str
    state: str
    start_ms: int
    end_ms: int
    outputs: tuple[ArtifactInfo, ...]

    @property
    def seconds(self) -> float:
        return max(0, self.end_ms - self.start_ms) / 1000.0


@dataclasses.dataclass(frozen=True)
class RunInfo:
    """One pipeline run: its id, pipeline, start time and executions in start order."""

    run_id: str
    pipeline: str
    created_ms: int
    executions: tuple[ExecutionInfo, ...]

    def execution(self, component: str) -> ExecutionInfo | None:
        return next((e for e in self.executions if e.component == component), None)


def metadata_path(pipeline_root: str) -> str:
    """Where local runs keep their SQLite ML Metadata: under the pipeline root."""
    return os.path.join(pipeline_root, METADATA_FILENAME)


def connection_config(path: str):
    """An ML Metadata SQLite connection config for `path` (created if missing)."""
    from ml_metadata.proto import metadata_store_pb2

    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = (
        metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    )
    return config


def open_store(path: str, *, must_exist: bool = True):
    """Opens the SQLite ML Metadata store at `path`."""
    from ml_metadata import metadata_store

    if must_exist and not os.path.exists(path):
        raise BertpipeError(
            f"no ML Metadata at {path}: no local run has used this pipeline root yet "
            "(run `bertpipe run`, or pass the --pipeline-root of an earlier run)."
        )
    return metadata_store.MetadataStore(connection_config(path))


def list_runs(store) -> list[RunInfo]:
    """Every recorded run, oldest first."""
    runs = [_run_info(store, ctx) for ctx in store.get_contexts_by_type("pipeline_run")]
    return sorted(runs, key=lambda r: (r.created_ms, r.run_id))


def get_run(store, run_id: str | None = None) -> RunInfo:
    """The run named `run_id`, or the latest run when it is None."""
    runs = list_runs(store)
    if not runs:
        raise BertpipeError("the ML Metadata store has no runs yet.")
    if run_id is None:
        return runs[-1]
    for run in runs:
        if run.run_id == run_id:
            return run
    recent = ", ".join(r.run_id for r in runs[-5:])
    raise BertpipeError(f"no run {run_id!r}; recent runs: {recent}.")


def _run_info(store, run_context) -> RunInfo:
    executions = store.get_executions_by_context(run_context.id)
    pipeline = ""
    infos = []
    for execution in sorted(executions, key=lambda e: (e.create_time_since_epoch, e.id)):
        component = ""
        for ctx in store.get_contexts_by_execution(execution.id):
            type_name = store.get_context_types_by_id([ctx.type_id])[0].name
            if type_name == "node":
                pipeline, _, component = ctx.name.rpartition(".")
        infos.append(
            ExecutionInfo(
                component=component or execution.type,
                state=_STATES.get(execution.last_known_state, "unknown"),
                start_ms=execution.create_time_since_epoch,
                end_ms=execution.last_update_time_since_epoch,
                outputs=tuple(_outputs(store, execution.id)),
            )
        )
    return RunInfo(run_context.name, pipeline, run_context.create_time_since_epoch, tuple(infos))


def _outputs(store, execution_id: int) -> list[ArtifactInfo]:
    events = [
        e for e in store.get_events_by_execution_ids([execution_id]) if e.type in _OUTPUT_EVENTS
    ]
    if not events:
        return []
    artifacts = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in events])}
    type_names = {
        t.id: t.name
        for t in store.get_artifact_types_by_id(list({a.type_id for a in artifacts.values()}))
    }
    infos = []
    for event in events:
        artifact = artifacts[event.artifact_id]
        key = next((s.key for s in event.path.steps if s.HasField("key")), "")
        properties = {}
        for name, value in list(artifact.properties.items()) + list(
            artifact.custom_properties.items()
        ):
            kind = value.WhichOneof("value")
            properties[name] = (
                getattr(value, kind)
                if kind in ("int_value", "double_value", "string_value")
                else str(value)
            )
        infos.append(ArtifactInfo(key, type_names[artifact.type_id], artifact.uri, properties))
    return sorted(infos, key=lambda a: a.key)
