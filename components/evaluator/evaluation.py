"""Evaluate an exported model (and a baseline) on a split; bless; write metrics.json + report.

Shared by the `MaskedLMEvaluator` executor and `bertpipe evaluate`. The models are
exports in the docs/reference/export-format.md layout, read with
`components.trainer.export.load_exported`: the Task is rebuilt from the experiment in
`bertpipe_model.json` and the weights restored from `checkpoint/`, so the metrics come from
the same Task code that trained the model.

`metrics.json` (the `document`):
  format_version    1
  blessed, reasons  the decision; reasons = the failed checks' messages (or "all N
                    checks passed")
  model             {path, global_step, examples, masked_tokens, metrics: {name: value}}
  baseline          null, or {path, source, comparable, note, global_step, examples,
                    masked_tokens, metrics (null when not comparable)}
  examples          {input_path: [...], max_eval_examples}
  thresholds        the Thresholds as data
  checks            [{name, kind, status, message, metric, value, threshold, baseline,
                    regression}]
  breakdown         {by_frequency|by_position: {basis, buckets: [{label, masked,
                    model_accuracy, baseline_accuracy}]}}
Non-finite numbers are written as null (JSON has no NaN); the checks say which.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import posixpath
from typing import Any

import tensorflow as tf

from components import configs
from components.errors import BertpipeError
from components.evaluator import blessing, metrics, report
from components.trainer import examples_metadata

METRICS_FILENAME = "metrics.json"
REPORT_FILENAME = "report.html"
FORMAT_VERSION = 1
FREQUENCY_BASIS = (
    "Frequency rank of the target token in the evaluated records' text (all real tokens, "
    "masked positions restored); rank 1 = most frequent. Groups are rank decades."
)
_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Baseline:
    """A model to compare with: a loaded export and where it came from.

    Attributes:
      loaded: the `LoadedModel` (components/trainer/export.py).
      source: how it was found, e.g. "baseline_model artifact" or "push destination
        gs://.../models (latest complete version)".
    """

    loaded: Any
    source: str


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What an evaluation decided and wrote."""

    document: dict
    decision: blessing.Decision
    result: metrics.EvalResult


def eval_data(loaded, input_path, batch_size: int | None = None):
    """The model's own validation data config, reading `input_path` instead.

    When `input_path` is a bertpipe Examples split, the config follows its record format
    (static masks, or sequences masked with fixed validation draws and its vocabulary).

    Raises:
      BertpipeError: a model with a next-sentence head and records without labels.
    """
    data = loaded.task.config.validation_data
    paths = (input_path,) if isinstance(input_path, str) else tuple(input_path)
    metadata = examples_metadata.metadata_for_patterns(paths)
    if metadata is not None:
        if metadata.format == "sequences" and data.use_next_sentence_label:
            raise BertpipeError(
                f"the model at {loaded.export_dir} has a next-sentence head, but the examples "
                f"in {metadata.root} are packed sequences without next-sentence labels; "
                "evaluate it on examples generated with format: static."
            )
        data = examples_metadata.data_for_examples(data, metadata)
    changes = {"input_path": paths}
    if batch_size:
        changes["global_batch_size"] = batch_size
    return dataclasses.replace(data, **changes)


def incomparable_reason(loaded, baseline) -> str | None:
    """Why `baseline` cannot be compared with `loaded` on the same records, or None."""
    if list(loaded.vocab) != list(baseline.vocab):
        return (
            "the baseline was trained with another vocabulary, so its token ids mean other "
            "tokens on these records"
        )
    mine, theirs = loaded.task.config.validation_data, baseline.task.config.validation_data
    if (mine.seq_length, mine.max_predictions_per_seq) != (
        theirs.seq_length,
        theirs.max_predictions_per_seq,
    ):
        return (
            f"the baseline reads records of seq_length {theirs.seq_length} / "
            f"max_predictions_per_seq {theirs.max_predictions_per_seq}, these have "
            f"{mine.seq_length} / {mine.max_predictions_per_seq}"
        )
    return None


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _summary(loaded, result: metrics.EvalResult | None) -> dict:
    return {
        "path": loaded.export_dir,
        "global_step": loaded.info.get("global_step"),
        "examples": None if result is None else result.examples,
        "masked_tokens": None if result is None else result.masked_tokens,
        "metrics": None if result is None else dict(result.metrics),
    }


def _breakdown(result, base_result) -> dict:
    def merge(mine, theirs):
        theirs = {b.label: b for b in theirs or ()}
        return [
            {
                "label": b.label,
                "masked": b.masked,
                "model_accuracy": b.accuracy,
                "baseline_accuracy": theirs[b.label].accuracy if b.label in theirs else None,
            }
            for b in mine
        ]

    return {
        "by_frequency": {
            "basis": FREQUENCY_BASIS,
            "buckets": merge(result.by_frequency, base_result and base_result.by_frequency),
        },
        "by_position": {
            "basis": "Index of the masked token in the sequence ([CLS] = 0), in 8 ranges.",
            "buckets": merge(result.by_position, base_result and base_result.by_position),
        },
    }


def _evaluate_baseline(loaded, baseline, input_path, batch_size, max_eval_examples):
    """(the baseline's EvalResult, None), or (None, why it is not comparable)."""
    reason = incomparable_reason(loaded, baseline.loaded)
    if reason is not None:
        return None, reason
    _log.info("evaluating the baseline %s", baseline.loaded.export_dir)
    data = eval_data(baseline.loaded, input_path, batch_size)
    result = metrics.evaluate(
        baseline.loaded.task, baseline.loaded.model, data, max_examples=max_eval_examples
    )
    return result, None


def evaluate_loaded(
    loaded,
    input_path,
    *,
    thresholds: blessing.Thresholds,
    baseline: Baseline | None = None,
    max_eval_examples: int = 0,
    batch_size: int | None = None,
) -> Outcome:
    """Evaluates a loaded export (and the baseline on the same records) and decides.

    Args:
      loaded: the new model (`LoadedModel`).
      input_path: the eval split's file(s)/glob(s).
      thresholds: the blessing thresholds.
      baseline: the model to compare with; None on the first run.
      max_eval_examples: evaluate only the first N records (0 = all).
      batch_size: override the experiment's validation batch size.
    """
    data = eval_data(loaded, input_path, batch_size)
    _log.info("evaluating %s on %s", loaded.export_dir, list(data.input_path))
    result = metrics.evaluate(loaded.task, loaded.model, data, max_examples=max_eval_examples)
    base_result, skip_reason, base_doc = None, None, None
    if baseline is not None:
        base_result, skip_reason = _evaluate_baseline(
            loaded, baseline, input_path, batch_size, max_eval_examples
        )
        base_doc = {
            **_summary(baseline.loaded, base_result),
            "source": baseline.source,
            "comparable": skip_reason is None,
            "note": skip_reason,
        }
    decision = blessing.decide(
        thresholds,
        result.metrics,
        result.examples,
        baseline_metrics=base_result and base_result.metrics,
        baseline_skip_reason=skip_reason and f"baseline not comparable: {skip_reason}",
    )
    document = {
        "format_version": FORMAT_VERSION,
        "blessed": decision.blessed,
        "reasons": decision.reasons,
        "model": _summary(loaded, result),
        "baseline": base_doc,
        "examples": {"input_path": list(data.input_path), "max_eval_examples": max_eval_examples},
        "thresholds": configs.to_dict(thresholds),
        "checks": [dataclasses.asdict(c) for c in decision.checks],
        "breakdown": _breakdown(result, base_result),
    }
    return Outcome(document=_finite(document), decision=decision, result=result)


def write_outputs(document: dict, output_dir: str) -> tuple[str, str]:
    """Writes `metrics.json` and `report.html` into `output_dir`; returns their paths."""
    tf.io.gfile.makedirs(output_dir)
    metrics_path = posixpath.join(output_dir, METRICS_FILENAME)
    report_path = posixpath.join(output_dir, REPORT_FILENAME)
    with tf.io.gfile.GFile(metrics_path, "w") as f:
        f.write(json.dumps(document, indent=2, sort_keys=True, allow_nan=False) + "\n")
    with tf.io.gfile.GFile(report_path, "w") as f:
        f.write(report.render(document))
    return metrics_path, report_path


def metrics_table(document: dict) -> str:
    """A plain-text table of the metrics (model, baseline, difference) and the verdict."""
    model = document["model"]["metrics"]
    base = (document.get("baseline") or {}).get("metrics") or {}
    lines = [f"{'metric':<24}{'model':>12}{'baseline':>12}{'difference':>12}"]
    for name in sorted(model):
        value, other = model[name], base.get(name)

        def cell(v):
            return f"{v:>12.4f}" if v is not None else f"{'-':>12}"

        diff = None if value is None or other is None else value - other
        lines.append(f"{name:<24}{cell(value)}{cell(other)}{cell(diff)}")
    verdict = "BLESSED" if document["blessed"] else "NOT BLESSED"
    lines.append(f"{document['model']['examples']} examples; {verdict}")
    lines += [f"  {c['status']:<8}{c['message']}" for c in document["checks"]]
    return "\n".join(lines)
