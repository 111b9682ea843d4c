"""Thresholds and the blessing decision: is the new model good enough to push?

Checks, each `pass`, `fail` or `skipped` with the numbers and a one-line message:
  * sanity (always): at least one example was evaluated, and every metric is finite (a
    diverged model has NaN losses and would otherwise pass any threshold left unset);
  * absolute: `min_masked_lm_accuracy`, `max_masked_lm_loss`, `min_next_sentence_accuracy`
    (each only when set); a threshold on a metric the model does not have fails;
  * regression against the baseline, per metric in `max_regression`, in the metric's own
    units. Direction per metric: accuracies are better higher, so regression = baseline -
    model; losses are better lower, so regression = model - baseline. A check passes when
    regression <= the allowed amount (improvements are negative regressions). Skipped,
    with the reason, when there is no baseline (the first run) or it is not comparable
    (another vocabulary or example shape) or lacks the metric.
The model is blessed when no check fails.
"""

from __future__ import annotations

import dataclasses
import math

from components.errors import BertpipeError
from components.trainer.tasks.metric_names import (
    MASKED_LM_ACCURACY,
    MASKED_LM_LOSS,
    NEXT_SENTENCE_ACCURACY,
    NEXT_SENTENCE_LOSS,
    TOTAL_LOSS,
)

# True: higher is better. The metrics of MaskedLMTask (components/trainer/tasks/masked_lm.py).
HIGHER_IS_BETTER: dict[str, bool] = {
    MASKED_LM_ACCURACY: True,
    MASKED_LM_LOSS: False,
    NEXT_SENTENCE_ACCURACY: True,
    NEXT_SENTENCE_LOSS: False,
    TOTAL_LOSS: False,
}
DEFAULT_MAX_REGRESSION: dict[str, float] = {
    MASKED_LM_ACCURACY: 0.02,
    MASKED_LM_LOSS: 0.1,
    NEXT_SENTENCE_ACCURACY: 0.05,
}

PASS, FAIL, SKIPPED = "pass", "fail", "skipped"


def _check_bound(name: str, value, *, rate: bool) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BertpipeError(f"Thresholds.{name} must be a number or null; got {value!r}.")
    if rate and not 0 <= value <= 1:
        raise BertpipeError(f"Thresholds.{name} must be in [0, 1]; got {value!r}.")
    if value < 0:
        raise BertpipeError(f"Thresholds.{name} must be >= 0; got {value!r}.")


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """When a model is blessed (see the module docstring).

    Attributes:
      min_masked_lm_accuracy: lowest masked-LM accuracy allowed (null = no bound).
      max_masked_lm_loss: highest masked-LM loss allowed (null = no bound).
      min_next_sentence_accuracy: lowest next-sentence accuracy allowed (null = no bound).
      max_regression: metric name -> largest allowed worsening against the baseline, in
        the metric's units (e.g. masked_lm_accuracy: 0.02 allows 0.02 less accuracy;
        masked_lm_loss: 0.1 allows 0.1 more loss). Metrics not listed are not compared.
    """

    min_masked_lm_accuracy: float | None = None
    max_masked_lm_loss: float | None = None
    min_next_sentence_accuracy: float | None = None
    max_regression: dict[str, float] = dataclasses.field(
        default_factory=lambda: dict(DEFAULT_MAX_REGRESSION)
    )

    def __post_init__(self):
        _check_bound("min_masked_lm_accuracy", self.min_masked_lm_accuracy, rate=True)
        _check_bound("max_masked_lm_loss", self.max_masked_lm_loss, rate=False)
        _check_bound("min_next_sentence_accuracy", self.min_next_sentence_accuracy, rate=True)
        if not isinstance(self.max_regression, dict):
            raise BertpipeError(
                f"Thresholds.max_regression must map metric names to numbers; got "
                f"{self.max_regression!r}."
            )
        for metric, allowed in self.max_regression.items():
            if metric not in HIGHER_IS_BETTER:
                raise BertpipeError(
                    f"Thresholds.max_regression names unknown metric {metric!r}; known: "
                    f"{sorted(HIGHER_IS_BETTER)}."
                )
            _check_bound(f"max_regression.{metric}", allowed, rate=False)


@dataclasses.dataclass(frozen=True)
class Check:
    """One threshold check and its numbers (JSON-ready via `dataclasses.asdict`)."""

    name: str
    kind: str  # "sanity", "absolute" or "regression"
    status: str  # PASS, FAIL or SKIPPED
    message: str
    metric: str | None = None
    value: float | None = None
    threshold: float | None = None
    baseline: float | None = None
    regression: float | None = None


@dataclasses.dataclass(frozen=True)
class Decision:
    """The blessing: `blessed` and the checks; `reasons` are the failed checks' messages."""

    blessed: bool
    checks: tuple[Check, ...]

    @property
    def reasons(self) -> list[str]:
        failed = [c.message for c in self.checks if c.status == FAIL]
        return failed or [f"all {sum(c.status == PASS for c in self.checks)} checks passed"]


def _fmt(value: float | None) -> str:
    return "missing" if value is None else f"{value:.4g}"


def _sanity_checks(metrics: dict[str, float], examples: int) -> list[Check]:
    checks = [
        Check(
            "examples",
            "sanity",
            PASS if examples > 0 else FAIL,
            f"{examples} examples evaluated"
            + ("" if examples > 0 else ": the eval split is empty; nothing to judge"),
            value=float(examples),
        )
    ]
    bad = sorted(name for name, value in metrics.items() if not math.isfinite(value))
    checks.append(
        Check(
            "finite_metrics",
            "sanity",
            FAIL if bad else PASS,
            f"non-finite metrics (diverged model?): {', '.join(bad)}"
            if bad
            else "every metric is finite",
        )
    )
    return checks


def _absolute_check(name, metric, bound, value, *, minimum: bool) -> Check:
    op = ">=" if minimum else "<="
    if value is None:
        return Check(
            name,
            "absolute",
            FAIL,
            f"{name} is set but the model has no {metric} metric (e.g. no next-sentence "
            "head); unset the threshold or train with next-sentence labels",
            metric=metric,
            threshold=bound,
        )
    ok = value >= bound if minimum else value <= bound  # False for NaN
    return Check(
        name,
        "absolute",
        PASS if ok else FAIL,
        f"{metric} {_fmt(value)} {op if ok else ('<' if minimum else '>')} "
        f"{'min' if minimum else 'max'} {_fmt(bound)}",
        metric=metric,
        value=value,
        threshold=bound,
    )


def _regression_check(metric, allowed, value, baseline, skip_reason) -> Check:
    name = f"max_regression.{metric}"
    if skip_reason or value is None or baseline is None:
        why = skip_reason or (
            f"the model has no {metric}" if value is None else f"the baseline has no {metric}"
        )
        return Check(
            name,
            "regression",
            SKIPPED,
            f"{metric} not compared: {why}",
            metric,
            value,
            allowed,
            baseline,
        )
    regression = baseline - value if HIGHER_IS_BETTER[metric] else value - baseline
    ok = regression <= allowed  # False for NaN
    if regression > 0:
        change = f"worse by {_fmt(regression)}"
    elif regression < 0:
        change = f"better by {_fmt(-regression)}"
    else:
        change = "no change" if regression == 0 else "not comparable (NaN)"
    return Check(
        name,
        "regression",
        PASS if ok else FAIL,
        f"{metric} {_fmt(value)} vs baseline {_fmt(baseline)}: {change}"
        + ("" if ok else f", more than the allowed {_fmt(allowed)}"),
        metric=metric,
        value=value,
        threshold=allowed,
        baseline=baseline,
        regression=regression,
    )


def decide(
    thresholds: Thresholds,
    metrics: dict[str, float],
    examples: int,
    baseline_metrics: dict[str, float] | None = None,
    baseline_skip_reason: str | None = None,
) -> Decision:
    """Runs every check (module docstring) and blesses when none fails.

    Args:
      thresholds: the bounds.
      metrics: the new model's metrics by name.
      examples: records evaluated.
      baseline_metrics: the baseline's metrics on the same records; None without one.
      baseline_skip_reason: why there is no comparison (no baseline, not comparable).
    """
    if baseline_metrics is None and not baseline_skip_reason:
        baseline_skip_reason = "no baseline (first run): judged on absolute thresholds alone"
    checks = _sanity_checks(metrics, examples)
    bounds = (
        ("min_masked_lm_accuracy", MASKED_LM_ACCURACY, thresholds.min_masked_lm_accuracy, True),
        ("max_masked_lm_loss", MASKED_LM_LOSS, thresholds.max_masked_lm_loss, False),
        (
            "min_next_sentence_accuracy",
            NEXT_SENTENCE_ACCURACY,
            thresholds.min_next_sentence_accuracy,
            True,
        ),
    )
    for name, metric, bound, minimum in bounds:
        if bound is not None:
            checks.append(
                _absolute_check(name, metric, bound, metrics.get(metric), minimum=minimum)
            )
    for metric, allowed in sorted(thresholds.max_regression.items()):
        base = None if baseline_metrics is None else baseline_metrics.get(metric)
        checks.append(
            _regression_check(metric, allowed, metrics.get(metric), base, baseline_skip_reason)
        )
    return Decision(blessed=all(c.status != FAIL for c in checks), checks=tuple(checks))
