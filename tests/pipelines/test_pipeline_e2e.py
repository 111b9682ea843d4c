"""End-to-end: the whole pipeline through `bertpipe run`, under both TFX runners.

Runs the real CLI in a fresh process on a small hand-written corpus, then checks every
artifact (examples parse, the model loads, the evaluation has metrics, the blessing follows
the thresholds, the pushed model answers fill_mask), caching on a re-run, and that changing
one example-generation parameter re-runs that component and everything after it only.
"""

import glob
import json
import math
import os

import pytest
import tensorflow as tf
import yaml

from components.features import MaskedLMSchema
from pipelines import metadata
from tests.pipelines import tiny_job
from tests.pipelines.cli_process import run_bertpipe
from tests.pipelines.tiny_job import MAX_PREDICTIONS, SEQ_LENGTH

CORPUS = os.path.join(os.path.dirname(__file__), "testdata", "harbour.txt")
COMPONENTS = ["VocabGen", "MaskedLMExampleGen", "Trainer", "MaskedLMEvaluator", "Pusher"]


def _config(root, seed=12345):
    return {
        "pipeline_name": "e2e",
        "pipeline_root": str(root),
        "corpus": [CORPUS],
        **tiny_job.sections(seed),
        # In-process Beam keeps the test quick; `make run` uses one process per core.
        "beam_pipeline_args": ["--direct_running_mode=in_memory"],
    }


def _run(tmp_path, runner, name="pipeline.yaml", **kwargs):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(_config(tmp_path / "root", **kwargs)))
    result = run_bertpipe("run", "--config", str(path), "--runner", runner)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    store = metadata.open_store(metadata.metadata_path(str(tmp_path / "root")))
    return result.stdout, metadata.get_run(store)


def _states(run):
    return {e.component: e.state for e in run.executions}


def _output(run, component, key):
    return next(a for a in run.execution(component).outputs if a.key == key)


def _check_artifacts(run):
    examples = _output(run, "MaskedLMExampleGen", "examples").uri
    schema = MaskedLMSchema(SEQ_LENGTH, MAX_PREDICTIONS)
    for split in ("train", "eval"):
        files = glob.glob(os.path.join(examples, f"Split-{split}", "*.gz"))
        records = list(tf.data.TFRecordDataset(files, compression_type="GZIP"))
        assert records, split
        parsed = schema.parse(tf.stack(records))
        assert parsed["input_ids"].shape == (len(records), SEQ_LENGTH)

    model_dir = os.path.join(_output(run, "Trainer", "model").uri, "Format-Serving")
    from components.trainer.export import load_exported

    loaded = load_exported(model_dir)
    assert loaded.info["vocab_size"] == len(loaded.vocab)

    evaluation = _output(run, "MaskedLMEvaluator", "evaluation").uri
    with open(os.path.join(evaluation, "metrics.json")) as f:
        document = json.load(f)
    metrics = document["model"]["metrics"]
    assert all(math.isfinite(metrics[m]) for m in ("masked_lm_accuracy", "masked_lm_loss"))
    expected = metrics["masked_lm_loss"] <= 20.0 and metrics["masked_lm_accuracy"] >= 0.0
    assert document["blessed"] is expected is True
    assert _output(run, "MaskedLMEvaluator", "blessing").properties["blessed"] == 1

    pushed = _output(run, "Pusher", "pushed_model").properties
    assert pushed["pushed"] == 1
    return pushed["pushed_destination"]


def _check_fill_mask(destination):
    result = run_bertpipe(
        "predict",
        "--model",
        destination,
        "--top-k",
        "3",
        "The boats wait in the [MASK].",
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "The boats wait in the [MASK]."
    assert lines[1].strip().startswith("[MASK] 1:")
    assert len(lines[1].split(":", 1)[1].split()) == 6  # 3 tokens, 3 scores.


@pytest.mark.slow
def test_pipeline_under_beam_runner_caches_and_reruns_only_what_changed(tmp_path):
    out, first = _run(tmp_path, "beam")
    assert [e.component for e in first.executions] == COMPONENTS
    assert set(_states(first).values()) == {"complete"}
    for component in COMPONENTS:
        assert any(component in line and "complete" in line for line in out.splitlines())
    assert "blessed: yes" in out and "pushed model: " in out
    _check_fill_mask(_check_artifacts(first))

    out, second = _run(tmp_path, "beam")
    assert _states(second) == dict.fromkeys(COMPONENTS, "cached")

    _, third = _run(tmp_path, "beam", name="seed.yaml", seed=7)
    assert _states(third) == {
        "VocabGen": "cached",
        "MaskedLMExampleGen": "complete",
        "Trainer": "complete",
        "MaskedLMEvaluator": "complete",
        "Pusher": "complete",
    }
    evaluation = _output(third, "MaskedLMEvaluator", "evaluation").uri
    with open(os.path.join(evaluation, "metrics.json")) as f:
        document = json.load(f)
    assert document["baseline"] is not None  # Compared with the model the first run pushed.


@pytest.mark.slow
def test_pipeline_under_local_runner_produces_every_artifact(tmp_path):
    _, run = _run(tmp_path, "local")
    assert set(_states(run).values()) == {"complete"}
    _check_fill_mask(_check_artifacts(run))

    listed = run_bertpipe("runs", "--pipeline-root", str(tmp_path / "root"))
    assert listed.returncode == 0 and run.run_id in listed.stdout
    shown = run_bertpipe("artifacts", "--pipeline-root", str(tmp_path / "root"))
    assert shown.returncode == 0
    assert "MaskedLMExampleGen.examples (Examples)" in shown.stdout
    assert "blessed: yes" in shown.stdout
