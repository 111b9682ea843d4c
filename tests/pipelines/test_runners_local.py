"""Tests for the local runner wrapper and the ML Metadata reader, on a two-step pipeline."""

import io
import os

import pytest
from tfx import v1 as tfx
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types.standard_artifacts import Examples, Model

from components.errors import BertpipeError
from pipelines import metadata
from pipelines.runners import local


@component
def WriteText(text: OutputArtifact[Examples], repeat: Parameter[int] = 1):
    with open(os.path.join(text.uri, "text.txt"), "w") as f:
        f.write("whale " * repeat)


@component
def CountWords(text: InputArtifact[Examples], model: OutputArtifact[Model]):
    with open(os.path.join(text.uri, "text.txt")) as f:
        words = len(f.read().split())
    with open(os.path.join(model.uri, "count.txt"), "w") as f:
        f.write(str(words))


def _pipeline(root, repeat):
    write = WriteText(repeat=repeat)
    count = CountWords(text=write.outputs["text"])
    return tfx.dsl.Pipeline(
        pipeline_name="demo",
        pipeline_root=str(root),
        components=[write, count],
        enable_cache=True,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            metadata.metadata_path(str(root))
        ),
    )


@pytest.mark.slow
@pytest.mark.parametrize("runner", ["beam", "local"])
def test_run_reports_components_then_caches_then_reruns_changed_step(tmp_path, runner):
    out = io.StringIO()
    first = local.run_pipeline(_pipeline(tmp_path, 3), runner=runner, out=out)
    assert [(e.component, e.state) for e in first.executions] == [
        ("WriteText", "complete"),
        ("CountWords", "complete"),
    ]
    model = first.execution("CountWords").outputs[0]
    assert (model.key, model.type_name) == ("model", "Model")
    with open(os.path.join(model.uri, "count.txt")) as f:
        assert f.read() == "3"
    lines = out.getvalue().splitlines()
    assert any("WriteText" in line and "complete" in line for line in lines)
    assert any("CountWords" in line and "complete" in line for line in lines)

    second = local.run_pipeline(_pipeline(tmp_path, 3), runner=runner, out=io.StringIO())
    assert [e.state for e in second.executions] == ["cached", "cached"]
    assert second.execution("CountWords").outputs[0].uri == model.uri

    third = local.run_pipeline(_pipeline(tmp_path, 5), runner=runner, out=io.StringIO())
    assert [e.state for e in third.executions] == ["complete", "complete"]

    store = metadata.open_store(metadata.metadata_path(str(tmp_path)))
    assert [r.run_id for r in metadata.list_runs(store)] == [
        first.run_id,
        second.run_id,
        third.run_id,
    ]
    assert metadata.get_run(store).run_id == third.run_id
    assert metadata.get_run(store, first.run_id).pipeline == "demo"


def test_get_run_of_unknown_id_lists_recent_runs(tmp_path):
    local.run_pipeline(_pipeline(tmp_path, 1), runner="local", out=io.StringIO())
    store = metadata.open_store(metadata.metadata_path(str(tmp_path)))
    with pytest.raises(BertpipeError, match=r"no run 'nope'; recent runs: 20"):
        metadata.get_run(store, "nope")


def test_open_store_without_runs_says_how_to_make_one(tmp_path):
    with pytest.raises(BertpipeError, match=r"no ML Metadata at .*run `bertpipe run`"):
        metadata.open_store(metadata.metadata_path(str(tmp_path)))
