"""The MaskedLMEvaluator executor on exported models: metrics, blessing, baselines."""

import json
import os

import pytest
from tfx.types import standard_artifacts

from components import configs
from components.errors import BertpipeError
from components.evaluator import component, executor
from components.evaluator.blessing import Thresholds
from components.pusher import versions

THRESHOLDS = Thresholds(min_masked_lm_accuracy=0.9, max_masked_lm_loss=1.0)


def _model(uri, artifact_id):
    model = standard_artifacts.Model()
    model.uri = uri
    model.id = artifact_id
    return model


def _run(tmp_path, exports, model_uri, *, baseline_uri=None, push_base=None, split="eval"):
    examples = standard_artifacts.Examples()
    examples.uri = exports.examples
    examples.split_names = '["train", "eval"]'
    evaluation = standard_artifacts.ModelEvaluation()
    evaluation.uri = str(tmp_path / "evaluation")
    blessing = standard_artifacts.ModelBlessing()
    blessing.uri = str(tmp_path / "blessing")
    inputs = {component.MODEL_KEY: [_model(model_uri, 11)], component.EXAMPLES_KEY: [examples]}
    if baseline_uri:
        inputs[component.BASELINE_MODEL_KEY] = [_model(baseline_uri, 7)]
    executor.Executor().Do(
        inputs,
        {component.EVALUATION_KEY: [evaluation], component.BLESSING_KEY: [blessing]},
        {
            component.THRESHOLDS_KEY: configs.to_json(THRESHOLDS),
            component.MAX_EVAL_EXAMPLES_KEY: 0,
            component.BASELINE_PUSH_DESTINATION_KEY: push_base,
            component.EVAL_SPLIT_KEY: split,
            component.EVAL_BATCH_SIZE_KEY: 0,
        },
    )
    with open(os.path.join(evaluation.uri, "metrics.json"), encoding="utf-8") as f:
        return json.load(f), evaluation, blessing


def test_a_good_model_without_a_baseline_is_blessed_on_absolute_thresholds(
    tmp_path, masked_lm_exports
):
    doc, evaluation, blessing = _run(tmp_path, masked_lm_exports, masked_lm_exports.good_uri)
    assert doc["blessed"] and doc["baseline"] is None
    assert doc["model"]["examples"] == 24 and doc["model"]["global_step"] == 30
    assert doc["model"]["metrics"]["masked_lm_accuracy"] == 1.0
    regression = [c for c in doc["checks"] if c["kind"] == "regression"]
    assert {c["status"] for c in regression} == {"skipped"}
    # What TFX's Pusher and LatestBlessedModelStrategy read.
    assert blessing.get_int_custom_property("blessed") == 1
    assert blessing.get_int_custom_property("current_model_id") == 11
    assert blessing.get_string_custom_property("current_model") == masked_lm_exports.good_uri
    assert os.path.exists(os.path.join(blessing.uri, "BLESSED"))
    assert os.path.exists(os.path.join(evaluation.uri, "report.html"))
    assert evaluation.get_float_custom_property("masked_lm_accuracy") == 1.0


def test_a_broken_model_is_not_blessed_and_says_why(tmp_path, masked_lm_exports):
    doc, _, blessing = _run(tmp_path, masked_lm_exports, masked_lm_exports.broken_uri)
    assert not doc["blessed"]
    assert blessing.get_int_custom_property("blessed") == 0
    assert os.path.exists(os.path.join(blessing.uri, "NOT_BLESSED"))
    failed = {c["name"] for c in doc["checks"] if c["status"] == "fail"}
    assert failed == {"min_masked_lm_accuracy", "max_masked_lm_loss"}
    message = blessing.get_string_custom_property("blessing_message")
    assert message.startswith("masked_lm_accuracy ") and "< min 0.9" in message


def test_the_newest_complete_push_is_the_baseline(tmp_path, masked_lm_exports):
    base = str(tmp_path / "serving")
    versions.publish(masked_lm_exports.broken, base, version=1)
    _, good_path = versions.publish(masked_lm_exports.good, base, version=2)
    os.makedirs(os.path.join(base, "3", "variables"))  # an interrupted foreign push
    doc, _, blessing = _run(
        tmp_path, masked_lm_exports, masked_lm_exports.broken_uri, push_base=base
    )
    assert doc["baseline"]["path"] == good_path and doc["baseline"]["comparable"]
    assert doc["baseline"]["metrics"]["masked_lm_accuracy"] == 1.0
    regression = {c["metric"]: c for c in doc["checks"] if c["kind"] == "regression"}
    assert regression["masked_lm_accuracy"]["status"] == "fail"
    assert regression["masked_lm_accuracy"]["regression"] == pytest.approx(
        1.0 - doc["model"]["metrics"]["masked_lm_accuracy"]
    )
    assert blessing.get_string_custom_property("baseline_model") == good_path


def test_an_empty_push_destination_means_no_baseline(tmp_path, masked_lm_exports):
    doc, _, _ = _run(
        tmp_path, masked_lm_exports, masked_lm_exports.good_uri, push_base=str(tmp_path / "none")
    )
    assert doc["blessed"] and doc["baseline"] is None


def test_a_baseline_model_artifact_is_compared(tmp_path, masked_lm_exports):
    doc, _, blessing = _run(
        tmp_path,
        masked_lm_exports,
        masked_lm_exports.good_uri,
        baseline_uri=masked_lm_exports.broken_uri,
    )
    assert doc["blessed"]  # better than the baseline on every metric
    assert doc["baseline"]["source"] == "baseline_model artifact"
    assert blessing.get_int_custom_property("baseline_model_id") == 7


def test_a_missing_split_is_named(tmp_path, masked_lm_exports):
    with pytest.raises(BertpipeError, match=r"has no split 'test' \(it has \['train', 'eval'\]\)"):
        _run(tmp_path, masked_lm_exports, masked_lm_exports.good_uri, split="test")


def test_component_checks_its_arguments_at_construction():
    from tfx.types import channel_utils

    model = channel_utils.as_channel([standard_artifacts.Model()])
    examples = channel_utils.as_channel([standard_artifacts.Examples()])
    with pytest.raises(BertpipeError, match="max_eval_examples must be an integer >= 0"):
        component.MaskedLMEvaluator(model, examples, max_eval_examples=-1)
    with pytest.raises(BertpipeError, match="one baseline source"):
        component.MaskedLMEvaluator(
            model, examples, baseline_model=model, baseline_push_destination="/x"
        )
    with pytest.raises(BertpipeError, match=r"unknown metric 'acc'"):
        component.MaskedLMEvaluator(model, examples, thresholds={"max_regression": {"acc": 1}})
    evaluator = component.MaskedLMEvaluator(
        model, examples, thresholds={"min_masked_lm_accuracy": 0.5}, max_eval_examples=100
    )
    params = evaluator.exec_properties
    assert json.loads(params["thresholds"])["min_masked_lm_accuracy"] == 0.5
    assert params["max_eval_examples"] == 100 and params["eval_split"] == "eval"
