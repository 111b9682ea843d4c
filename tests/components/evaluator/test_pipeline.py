"""MaskedLMEvaluator + Pusher in real TFX pipelines (LocalDagRunner, SQLite ML Metadata).

Two runs per pipeline: a good model (blessed, pushed), then a broken one (not blessed, not
pushed, the served model untouched), with the baseline from the push destination
(the Kubeflow wiring) or from the latest-blessed-model resolver (local/Vertex wiring).
"""

import io
import json
import os
import subprocess
import sys

import pytest
from tfx import v1 as tfx

from components.evaluator import component, resolver
from components.evaluator.blessing import Thresholds
from components.pusher import component as pusher_component
from components.pusher import versions
from pipelines.runners import local
from tests.components import tiny_model
from tests.components.pusher import saved_models
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow
THRESHOLDS = Thresholds(min_masked_lm_accuracy=0.9)
# Importer output is read from ML Metadata; TFX reads these payload formats
# (Format-Serving/, Split-<name>/) only for artifacts that say which TFX wrote them.
_NEW_FORMAT = {"tfx_version": "1.16.0"}


def _pipeline(root, model_uri, examples, push_base, target):
    model = tfx.dsl.Importer(
        source_uri=model_uri,
        artifact_type=tfx.types.standard_artifacts.Model,
        custom_properties=_NEW_FORMAT,
    ).with_id("model")
    data = tfx.dsl.Importer(
        source_uri=examples,
        artifact_type=tfx.types.standard_artifacts.Examples,
        properties={"split_names": '["train", "eval"]'},
        custom_properties=_NEW_FORMAT,
    ).with_id("examples")
    wiring = resolver.baseline_wiring(target, push_base)
    evaluator = component.MaskedLMEvaluator(
        model=model.outputs["result"],
        examples=data.outputs["result"],
        thresholds=THRESHOLDS,
        **wiring.evaluator_kwargs,
    )
    pusher = pusher_component.pusher(
        model.outputs["result"], evaluator.outputs["blessing"], push_base
    )
    nodes = [model, data, *([wiring.resolver] if wiring.resolver else []), evaluator, pusher]
    return tfx.dsl.Pipeline(
        pipeline_name=f"evaluator-{target}",
        pipeline_root=os.path.join(root, "pipeline"),
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            os.path.join(root, "metadata.sqlite")
        ),
        components=nodes,
        enable_cache=False,
    )


def _run(root, model_uri, exports, push_base, target):
    pipeline = _pipeline(root, model_uri, exports.examples, push_base, target)
    run = local.run_pipeline(pipeline, runner="local", out=io.StringIO())
    outputs = {(e.component, a.key): a for e in run.executions for a in e.outputs}
    with open(os.path.join(outputs["MaskedLMEvaluator", "evaluation"].uri, "metrics.json")) as f:
        return json.load(f), outputs


def _fill_mask_in_a_fresh_process(model_dir):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    args = ["predict", "--model", model_dir, "--top-k", "4", "Call me [MASK], the [MASK] whale."]
    code = f"import sys; from pipelines.cli import main; sys.exit(main({args!r}))"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.splitlines()


@pytest.mark.parametrize("target", ["kubeflow", "local"])
def test_good_model_is_pushed_and_a_broken_one_is_not(tmp_path, masked_lm_exports, target):
    root, push_base = str(tmp_path), str(tmp_path / "serving")

    doc, outputs = _run(root, masked_lm_exports.good_uri, masked_lm_exports, push_base, target)
    assert doc["blessed"] and doc["baseline"] is None  # first run: absolute thresholds
    pushed = outputs["Pusher", "pushed_model"].properties
    assert pushed["pushed"] == 1
    served = pushed["pushed_destination"]
    assert versions.complete_versions(push_base) == [(int(pushed["pushed_version"]), served)]
    before = saved_models.snapshot(push_base)

    doc, outputs = _run(root, masked_lm_exports.broken_uri, masked_lm_exports, push_base, target)
    assert not doc["blessed"]
    if target == "kubeflow":
        assert doc["baseline"]["path"] == served
    else:  # the resolver's latest blessed Model artifact: the good model
        assert doc["baseline"]["source"] == "baseline_model artifact"
        assert doc["baseline"]["path"] == masked_lm_exports.good
    failed = {c["name"] for c in doc["checks"] if c["status"] == "fail"}
    assert {"min_masked_lm_accuracy", "max_regression.masked_lm_accuracy"} <= failed
    assert outputs["MaskedLMEvaluator", "blessing"].properties["blessed"] == 0
    assert outputs["Pusher", "pushed_model"].properties["pushed"] == 0
    assert saved_models.snapshot(push_base) == before  # bytes and mtimes

    if target == "kubeflow":  # once is enough: the pushed model answers raw text
        lines = _fill_mask_in_a_fresh_process(push_base)
        assert lines[0] == "Call me [MASK], the [MASK] whale."
        for line, n in zip(lines[1:], (1, 2)):
            label, fills = line.split(": ", 1)
            assert label.strip() == f"[MASK] {n}"
            tokens = fills.split()[0::2]
            assert len(tokens) == 4 and set(tokens) <= set(tiny_model.VOCAB)
            assert tokens[0] == "the"  # what the good model learned
