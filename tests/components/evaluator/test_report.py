"""The report opens in headless Chromium and its SVG plots render."""

import json
import os
import re
import shutil
import subprocess

import pytest
from PIL import Image

from components.evaluator import blessing, evaluation, report
from tests.components import tiny_model
from tests.components.evaluator import models

CHROMIUM = shutil.which("chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (Debian: apt-get install chromium chromium-driver; "
    "`make test` runs scripts/install_browser.sh, which installs it where it runs as root)",
)
MODEL_BLUE = (0x2B, 0x6C, 0xB0)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    """A real evaluation of two untrained tiny models (no training: fast) on real records."""
    root = str(tmp_path_factory.mktemp("examples"))
    models.write_examples(root, train=8, eval_=20)
    config = tiny_model.tiny_config(f"{root}/Split-train/*")
    vocab = list(tiny_model.VOCAB)
    model = models.InMemoryModel("/models/new", *models.build(config, seed=0), vocab)
    base = models.InMemoryModel("/models/served", *models.build(config, seed=1), vocab)
    outcome = evaluation.evaluate_loaded(
        model,
        f"{root}/Split-eval/*",
        thresholds=blessing.Thresholds(min_masked_lm_accuracy=0.5, max_masked_lm_loss=2.0),
        baseline=evaluation.Baseline(base, "test baseline"),
    )
    out = str(tmp_path_factory.mktemp("evaluation"))
    evaluation.write_outputs(outcome.document, out)
    return out


def _chromium(out_dir, *args):
    profile = os.path.join(out_dir, "chromium-profile")
    return subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=out_dir,
    )


def test_report_is_self_contained(report_dir):
    with open(os.path.join(report_dir, "report.html"), encoding="utf-8") as f:
        page = f.read()
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page)  # nothing fetched
    assert "<script" not in page
    with open(os.path.join(report_dir, "metrics.json"), encoding="utf-8") as f:
        document = json.load(f)
    assert "NOT BLESSED" in page and not document["blessed"]
    for reason in document["reasons"]:
        assert report._e(reason) in page


@needs_chromium
def test_report_plots_render_in_headless_chromium(report_dir, tmp_path):
    url = "file://" + os.path.join(report_dir, "report.html")
    dom = _chromium(str(tmp_path), "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    charts = re.findall(r'<svg class="chart" data-chart="([^"]+)"', dom.stdout)
    assert charts == [
        "metric-masked_lm_accuracy",
        "metric-masked_lm_loss",
        "metric-next_sentence_accuracy",
        "metric-next_sentence_loss",
        "metric-total_loss",
        "by_frequency",
        "by_position",
    ]
    # Every metric chart has a model and a baseline bar; the breakdowns one per group each.
    assert len(re.findall(r'<rect class="bar model"', dom.stdout)) >= 5 + 2 + 1
    assert len(re.findall(r'<rect class="bar baseline"', dom.stdout)) >= 5 + 2 + 1
    assert dom.stdout.count('class="threshold"') == 2

    png = os.path.join(str(tmp_path), "report.png")
    shot = _chromium(str(tmp_path), f"--screenshot={png}", "--window-size=1280,2400", url)
    assert shot.returncode == 0 and os.path.exists(png), shot.stderr[-2000:]
    image = Image.open(png).convert("RGB")
    assert image.size == (1280, 2400)
    colors = image.getcolors(maxcolors=1 << 20)
    assert len(colors) > 50  # not a blank page
    # The model's bars are drawn: thousands of pixels of their exact blue.
    assert sum(n for n, rgb in colors if rgb == MODEL_BLUE) > 2000
