"""evaluate_loaded: incomparable baselines and diverged models."""

import json

import numpy as np
import pytest

from components.evaluator import blessing, evaluation
from tests.components import tiny_model
from tests.components.evaluator import models


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("examples"))
    models.write_examples(root, train=8, eval_=10)
    config = tiny_model.tiny_config(f"{root}/Split-train/*")
    return root, config


def test_a_baseline_with_another_vocabulary_is_not_compared(setup):
    root, config = setup
    vocab = list(tiny_model.VOCAB)
    model = models.InMemoryModel("/new", *models.build(config), vocab)
    other_vocab = [*vocab[:-1], "woman"]
    base = models.InMemoryModel("/old", *models.build(config), other_vocab)
    outcome = evaluation.evaluate_loaded(
        model,
        f"{root}/Split-eval/*",
        thresholds=blessing.Thresholds(max_masked_lm_loss=100.0),
        baseline=evaluation.Baseline(base, "test"),
    )
    doc = outcome.document
    assert doc["baseline"]["comparable"] is False and doc["baseline"]["metrics"] is None
    assert "another vocabulary" in doc["baseline"]["note"]
    regression = [c for c in doc["checks"] if c["kind"] == "regression"]
    assert {c["status"] for c in regression} == {"skipped"}
    assert (
        "baseline not comparable: the baseline was trained with another"
        in (regression[0]["message"])
    )
    assert doc["blessed"]  # judged on the absolute threshold


def test_a_diverged_model_is_not_blessed_and_its_report_still_renders(setup, tmp_path):
    root, config = setup
    task, model = models.build(config)
    weights = model.get_weights()
    weights[0] = np.full_like(weights[0], np.nan)  # the token embedding
    model.set_weights(weights)
    loaded = models.InMemoryModel("/diverged", task, model, list(tiny_model.VOCAB))
    outcome = evaluation.evaluate_loaded(
        loaded, f"{root}/Split-eval/*", thresholds=blessing.Thresholds()
    )
    assert not outcome.decision.blessed
    assert outcome.decision.reasons[0].startswith("non-finite metrics (diverged model?):")
    metrics_path, report_path = evaluation.write_outputs(outcome.document, str(tmp_path))
    with open(metrics_path, encoding="utf-8") as f:
        doc = json.load(f)  # strict JSON: NaN written as null
    assert doc["model"]["metrics"]["masked_lm_loss"] is None
    with open(report_path, encoding="utf-8") as f:
        assert "NOT BLESSED" in f.read()
