"""The bad-input matrix: user mistakes and faults through the real `bertpipe` commands.

Every case runs the command in a fresh process (as a user would), all cases at once in
parallel processes, and asserts the exit status, the one `bertpipe: error:` line (no
traceback) or the counted/explained outcome, and that nothing is left behind that a later
step would accept as good (no output directory, no staging directory, no checkpoint).
docs/guide/reliability.md shows this table. SIGTERM preemption has its own tests
(tests/pipelines/test_train_command.py, tests/components/trainer/test_multi_worker.py).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import glob
import gzip
import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from tests.components.trainer.examples_dir import write_examples_dir
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

WHALES = str(REPO_ROOT / "tests" / "components" / "example_gen" / "data" / "whales.txt")
VOCAB = "bert-base-uncased"
SMALL = ["--seq-length", "32", "--max-predictions", "5", "--dupe-factor", "1"]
TRAIN = ["train", "--experiment", "bert/tiny", "--param", "trainer.train_steps=2"]
TRAIN += ["--param", "task.train_data.global_batch_size=8"]


# Each case has its own --output: the cases run at the same time.
@dataclasses.dataclass(frozen=True)
class Case:
    """One row of the matrix: the command, and what must (not) be there afterwards."""

    argv: tuple[str, ...]
    status: int
    message: str  # the error line (status 2) or a line of the output (status 0) holds it
    absent: tuple[str, ...] = ()  # globs (under the workspace) that must match nothing


def _cases() -> dict[str, Case]:
    return {
        "examples_into_a_non_empty_output": Case(
            ("examples", "--corpus", WHALES, "--vocab", VOCAB, "--output", "{w}/full", *SMALL),
            2,
            "already holds 1 entry (keep.txt); choose a new --output, or pass --replace",
            ("{w}/full/Split-*", "{w}/.full.partial-*"),
        ),
        "examples_replace_a_previous_output": Case(
            ("examples", "--corpus", WHALES, "--vocab", VOCAB, "--output", "{w}/old")
            + ("--replace", *SMALL),
            0,
            "bertpipe examples: done in",
            ("{w}/old/Split-train/stale-*", "{w}/.old.*"),
        ),
        "examples_blank_lines_only": Case(
            (
                "examples",
                "--corpus",
                "{w}/blank.txt",
                "--vocab",
                VOCAB,
                "--output",
                "{w}/out_blank",
            ),
            2,
            "holds no document (only blank lines?)",
            ("{w}/out_blank", "{w}/.out_blank.partial-*"),
        ),
        "examples_one_document_in_the_eval_split": Case(
            (
                "examples",
                "--corpus",
                "{w}/one_doc.txt",
                "--vocab",
                VOCAB,
                "--output",
                "{w}/out_one_doc",
            )
            + ("--eval-fraction", "0.99", *SMALL),
            2,
            "the training split would be empty",
            ("{w}/out_one_doc", "{w}/.out_one_doc.partial-*"),
        ),
        "examples_empty_directory_as_corpus": Case(
            ("examples", "--corpus", "{w}/a_dir", "--vocab", VOCAB, "--output", "{w}/out_dir"),
            2,
            "matches no file; check the path (a glob or a directory",
            ("{w}/out_dir", "{w}/.out_dir.partial-*"),
        ),
        "examples_compressed_corpus_is_read": Case(
            ("examples", "--corpus", "{w}/corpus.txt.gz", "--vocab", VOCAB)
            + ("--output", "{w}/out_gz", "--eval-fraction", "0.99", *SMALL),
            2,  # Decompressed and read: its one document is counted, then refused as above.
            "all in the eval split (1 of 1 document(s)",
            ("{w}/out_gz", "{w}/.out_gz.partial-*"),
        ),
        "examples_seq_length_too_small_for_a_next_sentence": Case(
            ("examples", "--corpus", WHALES, "--vocab", VOCAB, "--output", "{w}/out_seq5")
            + ("--seq-length", "5", "--max-predictions", "1", "--dupe-factor", "1"),
            0,
            "random next sentence (about 50% expected): at this --seq-length one sentence",
            (),
        ),
        "vocab_into_a_non_empty_output": Case(
            ("vocab", "--corpus", WHALES, "--output", "{w}/full"),
            2,
            "already holds 1 entry (keep.txt); choose a new --output, or pass --replace",
            ("{w}/full/vocab.txt", "{w}/.full.partial-*"),
        ),
        "vocab_smaller_than_asked": Case(
            ("vocab", "--corpus", WHALES, "--output", "{w}/vocab_small", "--vocab-size", "30522"),
            0,
            "tokens asked for (--vocab-size): no other piece occurs min_token_count=10 times",
            ("{w}/.vocab_small.partial-*",),
        ),
        "vocab_blank_lines_only": Case(
            ("vocab", "--corpus", "{w}/blank.txt", "--output", "{w}/vocab_blank"),
            2,
            "holds no words (1 files,",
            ("{w}/vocab_blank", "{w}/.vocab_blank.partial-*"),
        ),
        "run_bad_experiment_config_before_any_component": Case(
            ("run", "--set", "training.experiment_config.task.model.hidden_size=abc"),
            2,
            "'task.model.hidden_size' in training.experiment_config of ",
            ("{w}/runs",),
        ),
        "examples_output_is_a_file": Case(
            ("examples", "--corpus", WHALES, "--vocab", VOCAB, "--output", "{w}/a_file"),
            2,
            "is a file, not a directory",
            ("{w}/.a_file.partial-*",),
        ),
        "examples_missing_corpus": Case(
            (
                "examples",
                "--corpus",
                "{w}/nope/*.txt",
                "--vocab",
                VOCAB,
                "--output",
                "{w}/out_missing",
            ),
            2,
            "matches no file",
            ("{w}/out_missing", "{w}/.out_missing.partial-*"),
        ),
        # /sys refuses new entries even to root (and is not writable to users on CI).
        "examples_unwritable_output": Case(
            ("examples", "--corpus", WHALES, "--vocab", VOCAB, "--output", "/sys/bertpipe_out"),
            2,
            "cannot write in /sys (",
            ("/sys/bertpipe_out", "/sys/.bertpipe_out.partial-*"),
        ),
        "run_unwritable_pipeline_root": Case(
            ("run", "--set", f"corpus=[{WHALES}]", "--set", "pipeline_root=/sys/bertpipe_root"),
            2,
            "cannot write in pipeline_root /sys/bertpipe_root (",
            ("/sys/bertpipe_root",),
        ),
        "train_empty_training_split": Case(
            (*TRAIN, "--examples", "{w}/no_train", "--model-dir", "{w}/m_no_train"),
            2,
            "gave no batch: it holds no records",
            ("{w}/m_no_train/checkpoints/ckpt-*", "{w}/m_no_train/export"),
        ),
        "train_empty_eval_split": Case(
            (*TRAIN, "--examples", "{w}/no_eval", "--model-dir", "{w}/m_no_eval"),
            0,
            "validation skipped: the validation split",
            (),
        ),
        "train_learning_rate_in_e_notation": Case(
            (*TRAIN, "--examples", "{w}/no_eval", "--model-dir", "{w}/m_print")
            + ("--param", "trainer.optimizer.learning_rate=1e-4", "--print-config"),
            0,
            '"learning_rate": 0.0001',
            ("{w}/m_print",),
        ),
    }


CASES = _cases()


def _prepare(w: str) -> None:
    os.makedirs(f"{w}/full")
    with open(f"{w}/full/keep.txt", "w") as f:
        f.write("not bertpipe's\n")
    os.makedirs(f"{w}/old/Split-train")
    with open(f"{w}/old/Split-train/stale-00000-of-00001", "w") as f:
        f.write("a shard of an earlier run\n")
    with open(f"{w}/blank.txt", "w") as f:
        f.write("\n\n   \n\n")
    with open(WHALES) as f:
        first_document = f.read().split("\n\n")[0]
    with open(f"{w}/one_doc.txt", "w") as f:
        f.write(first_document + "\n")
    os.makedirs(f"{w}/a_dir")
    with open(f"{w}/a_file", "w") as f:
        f.write("x\n")
    with gzip.open(f"{w}/corpus.txt.gz", "wt") as f:
        f.write(first_document + "\n")
    write_examples_dir(f"{w}/no_train", train=0, eval_=16)
    write_examples_dir(f"{w}/no_eval", train=64, eval_=0)


def _run(case: Case, w: str) -> subprocess.CompletedProcess:
    argv = [a.format(w=w) for a in case.argv]
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    code = f"import sys; from pipelines.cli import main; sys.exit(main({argv!r}))"
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=w,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every case's finished process, all run in parallel; and the workspace."""
    w = str(tmp_path_factory.mktemp("matrix"))
    _prepare(w)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(_run, case, w) for name, case in CASES.items()}
        return w, {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_gets_its_documented_outcome_and_leaves_nothing_acceptable(name, outcomes):
    w, results = outcomes
    case, result = CASES[name], results[name]
    output = result.stdout + result.stderr
    assert result.returncode == case.status, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    if case.status == 2:
        errors = [line for line in result.stderr.splitlines() if line.startswith("bertpipe:")]
        assert len(errors) == 1, result.stderr[-3000:]
        assert errors[0].startswith("bertpipe: error: ")
        assert case.message in errors[0], errors[0]
        assert result.stderr.strip().splitlines()[-1] == errors[0]
    else:
        assert case.message in output, output[-3000:]
    for pattern in case.absent:
        assert not glob.glob(pattern.format(w=w)), pattern


def test_a_refused_output_is_left_as_it_was(outcomes):
    w, _ = outcomes
    assert os.listdir(f"{w}/full") == ["keep.txt"]


def test_a_replaced_output_holds_only_the_new_run_and_its_counts_match(outcomes):
    w, _ = outcomes
    assert sorted(os.listdir(f"{w}/old")) == [
        "Split-eval",
        "Split-train",
        "example_gen_config.json",
        "stats.json",
        "vocab.txt",
    ]
    with open(f"{w}/old/stats.json") as f:
        stats = json.load(f)
    for split in ("train", "eval"):
        files = sorted(glob.glob(f"{w}/old/Split-{split}/*"))
        records = sum(1 for _ in tf.data.TFRecordDataset(files, compression_type="GZIP"))
        assert records == stats[split]["instances"], split


def test_an_empty_eval_split_reports_no_validation_metrics(outcomes):
    _, results = outcomes
    stdout = results["train_empty_eval_split"].stdout
    assert "validation total_loss" not in stdout
    assert "bertpipe: trained bert/tiny to step 2" in stdout
