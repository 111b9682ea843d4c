"""`report.html`: a self-contained evaluation report rendered from metrics.json.

One HTML file with inline CSS and inline SVG charts drawn here (no scripts, no fonts or
libraries from a CDN), so it opens offline from the artifact directory: the verdict and
its reasons, every check, the metrics of the model and the baseline, and charts of
  * each metric, model vs baseline, with the absolute threshold as a line;
  * masked-LM accuracy by token-frequency rank (see `metrics.py` for the basis);
  * masked-LM accuracy by position in the sequence.
Every chart is an `<svg class="chart" data-chart=...>` whose bars are
`<rect class="bar model|baseline" data-value=...>`, which the tests look for.
"""

from __future__ import annotations

import html
import math

from components.trainer.tasks import metric_names as names

_WIDTH, _HEIGHT = 420, 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 52, 12, 28, 44
_COLORS = {"model": "#2b6cb0", "baseline": "#a0aec0"}
_THRESHOLD_KEYS = {
    names.MASKED_LM_ACCURACY: "min_masked_lm_accuracy",
    names.MASKED_LM_LOSS: "max_masked_lm_loss",
    names.NEXT_SENTENCE_ACCURACY: "min_next_sentence_accuracy",
}

_CSS = """
body { font: 14px/1.45 -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif;
       margin: 24px auto; max-width: 1180px; color: #1a202c; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; }
.verdict { display: inline-block; padding: 4px 12px; border-radius: 4px; color: #fff;
           font-weight: 600; } .blessed { background: #2f855a; }
.not-blessed { background: #c53030; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border-bottom: 1px solid #e2e8f0; padding: 4px 10px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #2f855a; font-weight: 600; } .fail { color: #c53030; font-weight: 600; }
.skipped { color: #718096; } .charts { display: flex; flex-wrap: wrap; gap: 16px; }
svg.chart { background: #fff; border: 1px solid #e2e8f0; }
svg text { font: 11px Helvetica, Arial, sans-serif; fill: #2d3748; }
svg .title { font-size: 13px; font-weight: 600; } .muted { color: #718096; }
code { background: #f7fafc; padding: 1px 4px; }
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _num(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a" if value is None else str(value)
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


class _Frame:
    """The plot area of one chart and its value -> y-pixel scale."""

    def __init__(self, width: int, top: float):
        self.width, self.top = width, top
        self.plot_w, self.plot_h = width - _LEFT - _RIGHT, _HEIGHT - _TOP - _BOTTOM

    def y(self, v: float) -> float:
        return _TOP + self.plot_h * (1 - min(max(v, 0.0), self.top) / self.top)

    def hline(self, v: float, attrs: str) -> str:
        return (
            f'<line x1="{_LEFT}" x2="{self.width - _RIGHT}" y1="{self.y(v):.1f}" '
            f'y2="{self.y(v):.1f}" {attrs}/>'
        )


def _bar(frame: _Frame, name: str, category: str, v: float | None, x: float, w: float) -> str:
    """One bar with its value on top (or "n/a" for a missing or non-finite value)."""
    if v is None or not math.isfinite(v):
        return f'<text x="{x + w / 2:.1f}" y="{frame.y(0) - 4:.1f}" text-anchor="middle">n/a</text>'
    y, y0 = frame.y(v), frame.y(0)
    return (
        f'<rect class="bar {_e(name)}" data-value="{v:.6g}" x="{x:.1f}" y="{y:.1f}" '
        f'width="{w * 0.92:.1f}" height="{y0 - y:.1f}" fill="{_COLORS.get(name, "#4a5568")}">'
        f"<title>{_e(name)} {_e(category)}: {_num(v)}</title></rect>"
        f'<text class="value" x="{x + w * 0.46:.1f}" y="{y - 3:.1f}" '
        f'text-anchor="middle">{_num(v, 3)}</text>'
    )


def _legend(names) -> str:
    parts = []
    for i, name in enumerate(names):
        x = _LEFT + 90 * i
        parts.append(
            f'<rect x="{x}" y="{_HEIGHT - 14}" width="10" height="10" '
            f'fill="{_COLORS.get(name, "#4a5568")}"/>'
            f'<text x="{x + 14}" y="{_HEIGHT - 5}">{_e(name)}</text>'
        )
    return "".join(parts)


def bar_chart(
    chart_id: str,
    title: str,
    categories: list[str],
    series: dict[str, list[float | None]],
    *,
    y_max: float | None = None,
    threshold: float | None = None,
    width: int = _WIDTH,
) -> str:
    """An SVG grouped bar chart: one group per category, one bar per series.

    Args:
      chart_id: the `data-chart` attribute.
      title: drawn above the plot.
      categories: x-axis groups.
      series: name ("model"/"baseline") -> one value per category (None: no bar).
      y_max: top of the y axis; default: the largest value (or threshold) + 10%.
      threshold: draw a dashed horizontal line at this value.
      width: total width in pixels.
    """
    values = [v for vs in series.values() for v in vs if v is not None and math.isfinite(v)]
    frame = _Frame(width, y_max or max([*values, threshold or 0.0, 1e-9]) * 1.1)
    parts = [
        f'<svg class="chart" data-chart="{_e(chart_id)}" xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{_HEIGHT}" viewBox="0 0 {width} {_HEIGHT}" role="img" '
        f'aria-label="{_e(title)}">',
        f'<text class="title" x="{_LEFT}" y="16">{_e(title)}</text>',
    ]
    for i in range(5):  # y grid and ticks
        v = frame.top * i / 4
        parts.append(
            frame.hline(v, 'stroke="#edf2f7"')
            + f'<text x="{_LEFT - 6}" y="{frame.y(v) + 4:.1f}" text-anchor="end">'
            f"{_num(v, 3)}</text>"
        )
    group_w = frame.plot_w / max(len(categories), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    for c, category in enumerate(categories):
        x0 = _LEFT + c * group_w + group_w * 0.1
        for s, (name, vals) in enumerate(series.items()):
            parts.append(_bar(frame, name, category, vals[c], x0 + s * bar_w, bar_w))
        parts.append(
            f'<text x="{x0 + group_w * 0.4:.1f}" y="{_TOP + frame.plot_h + 16}" '
            f'text-anchor="middle">{_e(category)}</text>'
        )
    parts.append(frame.hline(0.0, 'stroke="#4a5568"'))
    if threshold is not None:
        parts.append(
            frame.hline(threshold, 'class="threshold" stroke="#c53030" stroke-dasharray="5,3"')
            + f'<text x="{width - _RIGHT}" y="{frame.y(threshold) - 4:.1f}" '
            f'text-anchor="end" fill="#c53030">threshold {_num(threshold)}</text>'
        )
    parts += [_legend(series), "</svg>"]
    return "".join(parts)


def _metric_charts(doc: dict) -> list[str]:
    model = doc["model"]["metrics"]
    baseline = (doc.get("baseline") or {}).get("metrics") or {}
    charts = []
    for metric in sorted(model):
        series = {"model": [model[metric]]}
        if baseline:
            series["baseline"] = [baseline.get(metric)]
        bound = doc["thresholds"].get(_THRESHOLD_KEYS.get(metric, ""), None)
        is_rate = metric.endswith("accuracy")
        charts.append(
            bar_chart(
                f"metric-{metric}",
                metric,
                [metric],
                series,
                y_max=1.0 if is_rate else None,
                threshold=bound,
                width=260,
            )
        )
    return charts


def _breakdown_chart(doc: dict, key: str, title: str) -> str:
    section = doc["breakdown"][key]
    buckets = section["buckets"]
    series = {"model": [b["model_accuracy"] for b in buckets]}
    if any(b.get("baseline_accuracy") is not None for b in buckets):
        series["baseline"] = [b.get("baseline_accuracy") for b in buckets]
    labels = [b["label"] for b in buckets]
    width = max(_WIDTH, 90 * len(labels))
    chart = bar_chart(key, title, labels, series, y_max=1.0, width=width)
    counts = ", ".join(f"{b['label']}: {b['masked']:.0f}" for b in buckets)
    return (
        f"<figure>{chart}<figcaption class='muted'>{_e(section['basis'])}<br>"
        f"masked tokens per group: {_e(counts)}</figcaption></figure>"
    )


def _checks_table(doc: dict) -> str:
    rows = "".join(
        f"<tr><td>{_e(c['name'])}</td><td class='{_e(c['status'])}'>{_e(c['status'])}</td>"
        f"<td class='num'>{_num(c['value'])}</td><td class='num'>{_num(c['threshold'])}</td>"
        f"<td class='num'>{_num(c['baseline'])}</td><td>{_e(c['message'])}</td></tr>"
        for c in doc["checks"]
    )
    return (
        "<table class='checks'><tr><th>check</th><th>result</th><th>value</th>"
        f"<th>threshold</th><th>baseline</th><th>detail</th></tr>{rows}</table>"
    )


def _metrics_table(doc: dict) -> str:
    model = doc["model"]["metrics"]
    baseline = (doc.get("baseline") or {}).get("metrics") or {}
    rows = ""
    for metric in sorted(model):
        base = baseline.get(metric)
        delta = None if base is None else model[metric] - base
        rows += (
            f"<tr><td>{_e(metric)}</td><td class='num'>{_num(model[metric])}</td>"
            f"<td class='num'>{_num(base)}</td><td class='num'>{_num(delta)}</td></tr>"
        )
    return (
        "<table class='metrics'><tr><th>metric</th><th>model</th><th>baseline</th>"
        f"<th>model - baseline</th></tr>{rows}</table>"
    )


def _baseline_text(doc: dict) -> str:
    baseline = doc.get("baseline")
    if not baseline:
        return "none (first run): judged on the absolute thresholds alone"
    note = f" — {baseline['note']}" if baseline.get("note") else ""
    return f"<code>{_e(baseline['path'])}</code> ({_e(baseline['source'])}){_e(note)}"


def render(doc: dict) -> str:
    """The report for one metrics.json document (see `evaluation.py` for its layout)."""
    verdict = "BLESSED" if doc["blessed"] else "NOT BLESSED"
    css_class = "blessed" if doc["blessed"] else "not-blessed"
    reasons = "".join(f"<li>{_e(r)}</li>" for r in doc["reasons"])
    model = doc["model"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>bertpipe evaluation: {verdict}</title><style>{_CSS}</style></head>
<body>
<h1>Masked-LM evaluation <span class="verdict {css_class}">{verdict}</span></h1>
<ul class="reasons">{reasons}</ul>
<table>
<tr><th>model</th><td><code>{_e(model["path"])}</code>
(step {_e(model.get("global_step"))})</td></tr>
<tr><th>baseline</th><td>{_baseline_text(doc)}</td></tr>
<tr><th>examples</th><td>{_e(model["examples"])} records, {model["masked_tokens"]:.0f} masked
tokens from <code>{_e(", ".join(doc["examples"]["input_path"]))}</code>
(max_eval_examples {_e(doc["examples"]["max_eval_examples"])})</td></tr>
</table>
<h2>Checks</h2>{_checks_table(doc)}
<h2>Metrics</h2>{_metrics_table(doc)}
<div class="charts">{"".join(_metric_charts(doc))}</div>
<h2>Masked-LM accuracy by token frequency</h2>
{_breakdown_chart(doc, "by_frequency", "masked-LM accuracy by frequency rank")}
<h2>Masked-LM accuracy by position</h2>
{_breakdown_chart(doc, "by_position", "masked-LM accuracy by token position")}
</body></html>
"""
