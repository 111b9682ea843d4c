"""The ML Metadata the launcher stand-in publishes to and resolves from, across runs.

KFP and Vertex both record every output artifact of a step in ML Metadata once the step
succeeds, and hand later steps what they read back from there. This store keeps exactly
what the launcher publishes (id, type title, URI, metadata, pipeline, order of creation)
and answers the two questions the orchestrators ask it:

- `upstream(run, task, key)`: the artifact a producer task published in this run
  (KFP: `GetOutputArtifactsByExecutionId`, kubeflow/pipelines 2.5.0
  backend/src/v2/metadata/client.go:905-951; Vertex: its own ML Metadata service).
- `query(pipeline, filter, inputs)`: a Vertex resolver step's artifact query, in the two
  filter forms TFX 1.16 compiles (tfx/orchestration/kubeflow/v2/step_builder.py:688, 725
  and 775-786): `schema_title="T" AND state=LIVE [AND metadata.K.number_value=V]
  [AND name="{{$.inputs.artifacts['input'].metadata['KEY']}}"]`, newest first, within the
  pipeline's own context. Anything else in a filter is refused, not ignored.
"""

from __future__ import annotations

import dataclasses
import json
import re

_CLAUSE = re.compile(
    r'^(?:schema_title="(?P<title>[^"]+)"|state=(?P<state>[A-Z]+)'
    r"|metadata\.(?P<key>\w+)\.number_value=(?P<number>[-0-9.]+)"
    r'|name="(?P<name>[^"]*)")$'
)
_PLACEHOLDER = re.compile(r"\{\{\$\.inputs\.artifacts\['(\w+)'\]\.metadata\['(\w+)'\]\}\}")


@dataclasses.dataclass
class Published:
    """One artifact as ML Metadata holds it."""

    id: int
    name: str
    title: str
    uri: str
    metadata: dict
    pipeline: str
    run: str
    task: str
    key: str
    state: str = "LIVE"


class MetadataStore:
    """The artifacts published by launcher runs, shared between runs of one pipeline."""

    def __init__(self, first_id: int = 1):
        self.artifacts: list[Published] = []
        self._next = first_id

    def publish(self, *, name_for, title, uri, metadata, pipeline, run, task, key) -> Published:
        """Records an output artifact; `name_for(id)` gives its name on this backend."""
        artifact_id, self._next = self._next, self._next + 1
        published = Published(
            artifact_id, name_for(artifact_id), title, uri, metadata, pipeline, run, task, key
        )
        self.artifacts.append(published)
        return published

    def upstream(self, run: str, task: str, key: str) -> Published:
        found = [a for a in self.artifacts if (a.run, a.task, a.key) == (run, task, key)]
        assert found, f"task {task} of run {run} published no {key!r}"
        return found[-1]

    def query(self, pipeline: str, query_filter: str, inputs: dict) -> list[Published]:
        """The artifacts a resolver query selects, newest first (Vertex `LatestArtifact`).

        A filter over an input that resolved to nothing selects nothing: on a first run the
        blessing resolver finds no blessing, and the model resolver after it then finds no
        model. Vertex's resolver is closed source; this is the semantics of the strategy
        TFX compiles it from: the model query's only input is the blessing resolver's
        output and its `name=` clause is that blessing's `current_model_id` (tfx 1.16.0
        tfx/orchestration/kubeflow/v2/step_builder.py:767, 775-784), and
        LatestBlessedModelStrategy returns no model when the blessing channel is empty
        (tfx/dsl/input_resolution/strategies/latest_blessed_model_strategy.py:98-101).
        The first run then evaluates without a baseline.
        """
        referenced = {m.group(1) for m in _PLACEHOLDER.finditer(query_filter)}
        if any(not inputs.get(key) for key in referenced):
            return []
        wanted = _parse_filter(_substitute(query_filter, inputs))
        matches = [
            a
            for a in self.artifacts
            if a.pipeline == pipeline
            and a.title == wanted.get("title", a.title)
            and a.state == wanted.get("state", a.state)
            and a.name == wanted.get("name", a.name)
            and all(a.metadata.get(k) == v for k, v in wanted.get("numbers", {}).items())
        ]
        return sorted(matches, key=lambda a: a.id, reverse=True)


def _substitute(query_filter: str, inputs: dict) -> str:
    """Fills `{{$.inputs.artifacts['K'].metadata['P']}}` from the resolver's input artifacts.

    A number is written as JSON writes it: it can never equal an artifact's resource name,
    which is why an integer `current_model_id` finds no model.
    """

    def value(match: re.Match) -> str:
        (artifact,) = inputs[match.group(1)]
        found = artifact["metadata"].get(match.group(2))
        return found if isinstance(found, str) else json.dumps(found)

    return _PLACEHOLDER.sub(value, query_filter)


def _parse_filter(query_filter: str) -> dict:
    wanted: dict = {"numbers": {}}
    for clause in query_filter.split(" AND "):
        match = _CLAUSE.match(clause.strip())
        assert match, f"resolver filter clause not understood: {clause!r} in {query_filter!r}"
        if match.group("title"):
            wanted["title"] = match.group("title")
        elif match.group("state"):
            wanted["state"] = match.group("state")
        elif match.group("key"):
            wanted["numbers"][match.group("key")] = float(match.group("number"))
        else:
            wanted["name"] = match.group("name")
    return wanted
