"""`bertpipe evaluate` and `bertpipe predict` on exported models."""

import json
import os

import pytest

from components.pusher import versions
from pipelines import cli


def test_evaluate_prints_the_table_and_writes_metrics_and_report(
    masked_lm_exports, tmp_path, capsys
):
    out = str(tmp_path / "evaluation")
    status = cli.main(
        [
            "evaluate",
            "--model",
            masked_lm_exports.good,
            "--examples",
            masked_lm_exports.examples,  # an Examples directory: its Split-eval/ is read
            "--baseline",
            masked_lm_exports.broken,
            "--output",
            out,
            "--min-masked-lm-accuracy",
            "0.9",
            "--max-regression",
            "masked_lm_loss=0.05",
        ]
    )
    printed = capsys.readouterr().out
    assert status == 0
    with open(os.path.join(out, "metrics.json"), encoding="utf-8") as f:
        doc = json.load(f)
    assert doc["blessed"] and doc["thresholds"]["min_masked_lm_accuracy"] == 0.9
    assert doc["thresholds"]["max_regression"]["masked_lm_loss"] == 0.05
    assert doc["examples"]["input_path"] == [f"{masked_lm_exports.examples}/Split-eval/*"]
    assert os.path.exists(os.path.join(out, "report.html"))
    row = next(line for line in printed.splitlines() if line.startswith("masked_lm_accuracy"))
    model, baseline = doc["model"]["metrics"], doc["baseline"]["metrics"]
    assert row.split()[1:3] == [
        f"{model['masked_lm_accuracy']:.4f}",
        f"{baseline['masked_lm_accuracy']:.4f}",
    ]
    assert "24 examples; BLESSED" in printed


def test_evaluate_exits_1_when_the_model_would_not_be_blessed(masked_lm_exports, tmp_path):
    args = ["evaluate", "--model", masked_lm_exports.broken, "--output", str(tmp_path)]
    pattern = f"{masked_lm_exports.examples}/Split-eval/*"
    status = cli.main([*args, "--examples", pattern, "--max-masked-lm-loss", "1.0"])
    assert status == 1


def test_evaluate_rejects_a_bad_threshold_with_one_line(masked_lm_exports, capsys):
    args = ["evaluate", "--model", masked_lm_exports.good, "--examples", "x"]
    assert cli.main([*args, "--min-masked-lm-accuracy", "3"]) == 2
    assert "min_masked_lm_accuracy must be in [0, 1]; got 3.0" in capsys.readouterr().err


def test_predict_prints_top_k_fills_from_a_push_destination(masked_lm_exports, tmp_path, capsys):
    base = str(tmp_path / "serving")
    versions.publish(masked_lm_exports.good, base)
    text = "The whale swam into the [MASK]."
    assert cli.main(["predict", "--model", base, "--top-k", "3", text]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == text
    assert lines[1].startswith("  [MASK] 1: the ")
    assert len(lines[1].split(": ", 1)[1].split()) == 6  # 3 x (token, probability)


def test_predict_without_a_marker_says_which_text(masked_lm_exports, capsys):
    status = cli.main(["predict", "--model", masked_lm_exports.good, "a [MASK]", "none here"])
    assert status == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        'bertpipe: error: fill_mask: input text at index [1] has no [MASK]: ["none here"]; '
        "every text needs the marker [MASK] (upper case) where a token is to be predicted."
    )


@pytest.mark.parametrize("top_k", ["11", "0"])
def test_predict_top_k_beyond_the_exported_fills_is_an_error(masked_lm_exports, capsys, top_k):
    status = cli.main(["predict", "--model", masked_lm_exports.good, "--top-k", top_k, "[MASK]"])
    assert status == 2
    assert "fills per [MASK]; ask for 1 to 10" in capsys.readouterr().err


def _copy_export(masked_lm_exports, tmp_path):
    import shutil

    copy = str(tmp_path / "Format-Serving")
    shutil.copytree(masked_lm_exports.good, copy)
    return copy


def test_predict_refuses_a_half_written_export_as_evaluate_does(
    masked_lm_exports, tmp_path, capsys
):
    export = _copy_export(masked_lm_exports, tmp_path)
    os.remove(os.path.join(export, "assets", "bertpipe_model.json"))  # Written last.
    assert cli.main(["predict", "--model", export, "a [MASK]"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"bertpipe: error: {export} is not a complete bertpipe model export: missing "
        "assets/bertpipe_model.json. Give the directory the trainer exported (TFX: the Model "
        "artifact's Format-Serving/), or re-run training."
    )


def test_predict_names_the_export_when_its_variables_are_truncated(
    masked_lm_exports, tmp_path, capsys
):
    import glob

    export = _copy_export(masked_lm_exports, tmp_path)
    (data,) = glob.glob(os.path.join(export, "variables", "variables.data-*"))
    with open(data, "r+b") as f:
        f.truncate(os.path.getsize(data) // 2)
    assert cli.main(["predict", "--model", export, "a [MASK]"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"bertpipe: error: cannot load the SavedModel in {export} (")
    assert err.endswith(
        "the export is damaged (truncated or partly copied?): copy it again or re-export it."
    )


def test_predict_shortens_an_error_that_echoes_a_long_text(masked_lm_exports, capsys):
    text = "whale " * 10000  # no [MASK]: the signature's message echoes the text
    assert cli.main(["predict", "--model", masked_lm_exports.good, text]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and len(err) < 500
    assert err.startswith("bertpipe: error: fill_mask: input text at index [0] has no [MASK]")


def test_predict_says_how_much_of_a_long_text_was_cut(masked_lm_exports, capsys):
    import json

    with open(os.path.join(masked_lm_exports.good, "assets", "bertpipe_model.json")) as f:
        seq_length = json.load(f)["seq_length"]
    long_text = "the [MASK] " + "the " * 200  # "the" is one token: 202 tokens in all
    short_text = "the [MASK] the"
    assert cli.main(["predict", "--model", masked_lm_exports.good, long_text, short_text]) == 0
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == [
        f"bertpipe: note: text 1 is 202 tokens; the model reads the first {seq_length - 2} "
        f"(seq_length {seq_length}, [CLS] and [SEP] included), so the last {204 - seq_length} "
        "were cut."
    ]
    assert captured.out.splitlines()[0] == long_text
