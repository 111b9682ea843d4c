"""The end-of-run summary: each component's status and time, artifacts, metrics, blessing
and the pushed model, read from ML Metadata (what `bertpipe run` and `bertpipe artifacts`
print)."""

from __future__ import annotations

import json
import os

from components.trainer.tasks import metric_names as names
from pipelines import metadata

_METRICS = (
    names.MASKED_LM_ACCURACY,
    names.MASKED_LM_LOSS,
    names.NEXT_SENTENCE_ACCURACY,
    names.NEXT_SENTENCE_LOSS,
)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{int(seconds) // 60}m{int(seconds) % 60:02d}s"


def format_run(run: metadata.RunInfo, *, artifacts: bool = True) -> str:
    """A human-readable summary of one run."""
    lines = [f"run {run.run_id} of pipeline {run.pipeline}", ""]
    width = max([len(e.component) for e in run.executions] + [9])
    lines.append(f"  {'component':<{width}}  {'status':<9} {'time':>8}")
    for e in run.executions:
        lines.append(f"  {e.component:<{width}}  {e.state:<9} {_duration(e.seconds):>8}")
    if artifacts:
        lines += ["", "artifacts:"]
        for e in run.executions:
            for a in e.outputs:
                lines.append(f"  {e.component}.{a.key} ({a.type_name}): {a.uri}")
    lines += _evaluation_lines(run)
    return "\n".join(lines)


def _find(run: metadata.RunInfo, type_name: str) -> metadata.ArtifactInfo | None:
    for e in run.executions:
        for a in e.outputs:
            if a.type_name == type_name:
                return a
    return None


def evaluation_metrics(run: metadata.RunInfo) -> dict | None:
    """The evaluator's metrics.json of the run, or None when there is no evaluation."""
    evaluation = _find(run, "ModelEvaluation")
    path = evaluation and os.path.join(evaluation.uri, "metrics.json")
    if not path or not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def pushed_model(run: metadata.RunInfo) -> str | None:
    """Where the run pushed its model, or None when it pushed nothing."""
    pushed = _find(run, "PushedModel")
    if pushed is None or not pushed.properties.get("pushed"):
        return None
    return pushed.properties.get("pushed_destination")


def _evaluation_lines(run: metadata.RunInfo) -> list[str]:
    document = evaluation_metrics(run)
    if document is None:
        return []
    model_doc = document.get("model") or {}
    lines = ["", f"evaluation ({model_doc.get('examples', '?')} held-out examples):"]
    model = model_doc.get("metrics", {})
    baseline = (document.get("baseline") or {}).get("metrics") or {}
    for name in _METRICS:
        if name in model:
            base = f"   baseline {baseline[name]:.4f}" if baseline.get(name) is not None else ""
            value = model[name]
            lines.append(
                f"  {name:<24} {value:.4f}{base}" if value is not None else f"  {name:<24} n/a"
            )
    blessed = bool(document.get("blessed"))
    lines.append(f"  blessed: {'yes' if blessed else 'NO'}")
    for reason in document.get("reasons", []) if not blessed else []:
        lines.append(f"    - {reason}")
    destination = pushed_model(run)
    if destination:
        lines.append(f"pushed model: {destination}")
    else:
        lines.append("pushed model: none (not blessed, so the model in service is unchanged)")
    return lines
