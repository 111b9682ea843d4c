"""Shared pytest set-up: quiet TensorFlow start-up and the repository root."""

import os
import pathlib
import types

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# google-auth probes the GCE metadata server (169.254.169.254) when it looks for default
# credentials; point it at a closed local port so no test ever sends traffic off the
# machine. Set before anything imports google.auth, which reads these at import time.
os.environ["GCE_METADATA_IP"] = os.environ["GCE_METADATA_HOST"] = "127.0.0.1:9"

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def masked_lm_exports(tmp_path_factory):
    """Examples plus a good and a broken tiny model, exported through `export_model`.

    Built once per session (about 40 s on 2 cores): `.examples` (an Examples directory
    with Split-train/, Split-eval/, vocab.txt), `.good` (trained until it predicts the
    records' masked tokens) and `.broken` (random weights): export directories
    (docs/reference/export-format.md), each
    the `Format-Serving/` of a Model artifact directory (`.good_uri`, `.broken_uri`).
    """
    from tests.components import tiny_model
    from tests.components.evaluator import models

    root = tmp_path_factory.mktemp("masked_lm_exports")
    examples = models.write_examples(str(root / "examples"))
    config = tiny_model.tiny_config(f"{examples}/Split-train/*")
    vocab = f"{examples}/vocab.txt"
    task, good = models.build(config, seed=0)
    models.train(task, good, steps=30)
    good_dir = models.export(task, good, str(root / "good" / "Format-Serving"), vocab, step=30)
    task, broken = models.build(config, seed=1)
    models.random_like(broken)
    broken_dir = models.export(task, broken, str(root / "broken" / "Format-Serving"), vocab)
    return types.SimpleNamespace(
        examples=examples,
        good=good_dir,
        broken=broken_dir,
        good_uri=str(root / "good"),
        broken_uri=str(root / "broken"),
    )


@pytest.fixture(scope="session")
def generated_examples(tmp_path_factory):
    """An Examples directory written by the real jobs: `bertpipe vocab` (WordPiece learned
    from the small whales corpus) then `bertpipe examples` (seq_length 32, 5 predictions).

    Returns a namespace: `.root` (the directory: Split-train/, Split-eval/, vocab.txt,
    example_gen_config.json, stats.json) and `.train_examples` (records in Split-train/).
    """
    import json

    from pipelines import cli

    root = tmp_path_factory.mktemp("generated_examples")
    corpus = str(REPO_ROOT / "tests" / "components" / "example_gen" / "data" / "whales.txt")
    vocab_dir, examples = str(root / "vocab"), str(root / "examples")
    assert cli.main(["vocab", "--corpus", corpus, "--output", vocab_dir]) == 0
    flags = ["--seq-length", "32", "--max-predictions", "5", "--dupe-factor", "5"]
    flags += ["--eval-fraction", "0.3"]
    vocab = f"{vocab_dir}/vocab.txt"
    assert (
        cli.main(["examples", "--corpus", corpus, "--vocab", vocab, "--output", examples, *flags])
        == 0
    )
    with open(f"{examples}/stats.json") as f:
        train = json.load(f)["train"]["instances"]
    return types.SimpleNamespace(root=examples, train_examples=train)
