"""The MLM-only recipe end to end through the CLI: `bertpipe examples --format sequences`,
`bertpipe train --experiment mlm/tiny`, `bertpipe evaluate`, `bertpipe predict`."""

import glob
import json
import os

import pytest
import tensorflow as tf

from components import features
from components.trainer import export
from pipelines import cli
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

CORPUS = str(REPO_ROOT / "tests" / "components" / "example_gen" / "data" / "whales.txt")
PARAMS = [
    "trainer.train_steps=12",
    "trainer.steps_per_loop=4",
    "trainer.summary_interval=4",
    "trainer.checkpoint_interval=4",
    "task.model.num_layers=1",
    "task.train_data.global_batch_size=8",
    "task.validation_data.global_batch_size=8",
]


@pytest.fixture(scope="module")
def sequences_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlm")
    vocab_dir, examples = str(root / "vocab"), str(root / "examples")
    assert cli.main(["vocab", "--corpus", CORPUS, "--output", vocab_dir]) == 0
    flags = ["--format", "sequences", "--seq-length", "32", "--eval-fraction", "0.3"]
    args = ["examples", "--corpus", CORPUS, "--vocab", f"{vocab_dir}/vocab.txt"]
    assert cli.main([*args, "--output", examples, *flags]) == 0
    return root, examples


def test_sequences_examples_parse_and_stats_say_the_format(sequences_dir):
    _, examples = sequences_dir
    with open(f"{examples}/stats.json") as f:
        stats = json.load(f)
    assert stats["format"] == "sequences" and stats["total"]["masked_tokens"] == 0
    files = glob.glob(f"{examples}/Split-train/*")
    records = list(tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator())
    assert len(records) == stats["train"]["instances"]
    for record in records:
        names = set(tf.train.Example.FromString(record).features.feature)
        assert names == set(features.SEQUENCE_FEATURE_NAMES)


def test_mlm_only_model_trains_exports_evaluates_and_fills_masks(sequences_dir, capsys):
    root, examples = sequences_dir
    model_dir = str(root / "run")
    args = ["train", "--experiment", "mlm/tiny", "--examples", examples, "--model-dir", model_dir]
    for param in PARAMS:
        args += ["--param", param]
    assert cli.main(args) == 0
    export_dir = os.path.join(model_dir, "export")
    loaded = export.load_exported(export_dir)
    assert loaded.info["global_step"] == 12
    data = loaded.experiment.task.train_data
    assert (data.record_format, data.use_next_sentence_label) == ("sequences", False)
    serving = tf.saved_model.load(export_dir).signatures[export.SERVING_DEFAULT]
    assert set(serving.structured_outputs) == {export.MASKED_LM_LOG_PROBS}  # No NSP head.

    out = str(root / "evaluation")
    evaluate = ["evaluate", "--model", export_dir, "--examples", examples, "--output", out]
    assert cli.main(evaluate) == 0
    with open(os.path.join(out, "metrics.json"), encoding="utf-8") as f:
        doc = json.load(f)
    metrics = doc["model"]["metrics"]
    assert set(metrics) >= {"masked_lm_accuracy", "masked_lm_loss"}
    assert not any(name.startswith("next_sentence") for name in metrics)
    assert doc["model"]["masked_tokens"] > 0
    # Fixed validation masks: a second evaluation gives the very same numbers.
    assert cli.main([*evaluate[:-1], str(root / "again")]) == 0
    with open(os.path.join(root, "again", "metrics.json"), encoding="utf-8") as f:
        assert json.load(f)["model"]["metrics"] == metrics

    capsys.readouterr()
    assert cli.main(["predict", "--model", export_dir, "--top-k", "2", "the [MASK] swam."]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "the [MASK] swam." and lines[1].startswith("  [MASK] 1: ")


def test_bert_experiment_on_sequences_is_one_line_error(sequences_dir, capsys):
    root, examples = sequences_dir
    args = ["train", "--experiment", "bert/tiny", "--examples", examples]
    assert cli.main([*args, "--model-dir", str(root / "bad")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bertpipe: error: the examples in") and "mlm/tiny" in err
    assert len(err.splitlines()) == 1
