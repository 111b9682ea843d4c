"""Tests for thresholds and the blessing decision."""

import math

import pytest

from components import configs
from components.errors import BertpipeError
from components.evaluator import blessing
from components.evaluator.blessing import FAIL, PASS, SKIPPED, Thresholds

GOOD = {
    "masked_lm_accuracy": 0.40,
    "masked_lm_loss": 3.0,
    "next_sentence_accuracy": 0.80,
    "next_sentence_loss": 0.5,
    "total_loss": 3.5,
}
STRICT = Thresholds(
    min_masked_lm_accuracy=0.3, max_masked_lm_loss=4.0, min_next_sentence_accuracy=0.7
)


def _by_name(decision):
    return {c.name: c for c in decision.checks}


def test_a_model_within_every_threshold_is_blessed_without_a_baseline():
    decision = blessing.decide(STRICT, GOOD, examples=100)
    assert decision.blessed
    checks = _by_name(decision)
    assert checks["min_masked_lm_accuracy"].status == PASS
    assert checks["min_masked_lm_accuracy"].message == "masked_lm_accuracy 0.4 >= min 0.3"
    regression = checks["max_regression.masked_lm_accuracy"]
    assert regression.status == SKIPPED
    assert "no baseline (first run)" in regression.message
    assert decision.reasons == ["all 5 checks passed"]


def test_a_model_below_an_absolute_threshold_is_not_blessed_and_says_why():
    decision = blessing.decide(STRICT, {**GOOD, "masked_lm_loss": 5.25}, examples=100)
    assert not decision.blessed
    assert decision.reasons == ["masked_lm_loss 5.25 > max 4"]


def test_regression_direction_is_per_metric():
    baseline = {**GOOD, "masked_lm_accuracy": 0.45, "masked_lm_loss": 2.85}
    # 0.05 less accuracy (allowed 0.02) fails; 0.15 more loss (allowed 0.1) fails.
    decision = blessing.decide(Thresholds(), GOOD, 100, baseline_metrics=baseline)
    checks = _by_name(decision)
    acc = checks["max_regression.masked_lm_accuracy"]
    assert (acc.status, acc.regression) == (FAIL, pytest.approx(0.05))
    loss = checks["max_regression.masked_lm_loss"]
    assert (loss.status, loss.regression) == (FAIL, pytest.approx(0.15))
    assert not decision.blessed
    # The same numbers the other way round are improvements: negative regressions.
    better = blessing.decide(Thresholds(), baseline, 100, baseline_metrics=GOOD)
    assert better.blessed
    assert _by_name(better)["max_regression.masked_lm_loss"].regression == pytest.approx(-0.15)


def test_a_regression_within_the_margin_passes():
    baseline = {**GOOD, "masked_lm_accuracy": 0.41}
    decision = blessing.decide(Thresholds(), GOOD, 100, baseline_metrics=baseline)
    assert decision.blessed
    assert _by_name(decision)["max_regression.masked_lm_accuracy"].message == (
        "masked_lm_accuracy 0.4 vs baseline 0.41: worse by 0.01"
    )


def test_non_finite_metrics_are_never_blessed_even_with_no_thresholds():
    nan = {**GOOD, "masked_lm_loss": math.nan, "total_loss": math.inf}
    decision = blessing.decide(Thresholds(max_regression={}), nan, examples=10)
    assert not decision.blessed
    assert decision.reasons == ["non-finite metrics (diverged model?): masked_lm_loss, total_loss"]


def test_an_empty_eval_split_is_not_blessed():
    decision = blessing.decide(Thresholds(), GOOD, examples=0)
    assert not decision.blessed
    assert "the eval split is empty" in decision.reasons[0]


def test_a_threshold_on_a_metric_the_model_lacks_fails():
    no_nsp = {"masked_lm_accuracy": 0.4, "masked_lm_loss": 3.0, "total_loss": 3.0}
    decision = blessing.decide(STRICT, no_nsp, examples=10, baseline_metrics=no_nsp)
    checks = _by_name(decision)
    assert checks["min_next_sentence_accuracy"].status == FAIL
    assert "has no next_sentence_accuracy metric" in checks["min_next_sentence_accuracy"].message
    assert checks["max_regression.next_sentence_accuracy"].status == SKIPPED


def test_an_incomparable_baseline_skips_the_comparison_with_the_reason():
    decision = blessing.decide(
        STRICT, GOOD, 10, baseline_skip_reason="the baseline has another vocabulary"
    )
    assert decision.blessed
    assert "another vocabulary" in _by_name(decision)["max_regression.masked_lm_loss"].message


def test_thresholds_load_strictly_from_config_data():
    loaded = configs.from_dict(
        Thresholds,
        {"min_masked_lm_accuracy": 0.5, "max_regression": {"masked_lm_loss": 0.2}},
        source="t.yaml",
    )
    assert loaded.max_regression == {"masked_lm_loss": 0.2}
    with pytest.raises(BertpipeError, match=r"unknown metric 'masked_lm_acc'"):
        Thresholds(max_regression={"masked_lm_acc": 0.1})
    with pytest.raises(BertpipeError, match=r"min_masked_lm_accuracy must be in \[0, 1\]"):
        Thresholds(min_masked_lm_accuracy=40)
    with pytest.raises(BertpipeError, match=r"max_masked_lm_loss must be >= 0"):
        Thresholds(max_masked_lm_loss=-1)
