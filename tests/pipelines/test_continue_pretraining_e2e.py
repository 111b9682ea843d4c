"""End-to-end: continued pretraining from a random Hugging Face BERT (continue-bert.yaml).

A random transformers BertForPreTraining whose vocabulary covers the test corpus is
converted with `bertpipe convert`, then `bertpipe run` runs pipelines/configs/
continue-bert.yaml (vocabulary imported from the start, training from the Hugging Face
directory itself, the converted start as the evaluator's first baseline, Hugging Face
format pushed too) with the tiny job's sizes.
"""

import json
import os
import re

import numpy as np
import pytest
import yaml

from components.convert import layout, sources
from components.trainer import export
from pipelines import config as pipeline_config
from tests.components.convert import hf_models
from tests.pipelines import test_pipeline_e2e as e2e
from tests.pipelines import tiny_job
from tests.pipelines.cli_process import run_bertpipe


def _corpus_vocab() -> list[str]:
    with open(e2e.CORPUS, encoding="utf-8") as f:
        words = set(re.findall(r"\w+|[^\w\s]", f.read().lower()))
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(words)]


def _config(tmp_path, hf_dir, start):
    path = os.path.join(os.path.dirname(pipeline_config.BUILTIN_CONFIG), "continue-bert.yaml")
    with open(path) as f:
        data = yaml.safe_load(f)
    job = tiny_job.sections()
    data.update(
        pipeline_root=str(tmp_path / "root"),
        corpus=[e2e.CORPUS],
        beam_pipeline_args=["--direct_running_mode=in_memory"],
    )
    data["vocabulary"]["import_uri"] = os.path.join(start, "assets", "vocab.txt")
    data["examples"].update(job["examples"], dupe_factor=2)
    training = data["training"]
    training.update(experiment="bert/tiny", train_steps=20, params=job["training"]["params"])
    training["experiment_config"]["task"]["init_checkpoint"] = hf_dir
    training["experiment_config"]["task"]["model"].update(
        hidden_size=32,
        num_layers=2,
        num_attention_heads=4,
        intermediate_size=48,
        max_position_embeddings=128,
    )
    data["evaluation"]["initial_baseline"] = start
    data["evaluation"]["thresholds"]["max_regression"] = {"masked_lm_loss": 100.0}
    return data


@pytest.mark.slow
def test_continue_pretraining_from_huggingface_compares_with_start_and_pushes_hf(tmp_path):
    pytest.importorskip("transformers")
    vocab = _corpus_vocab()
    model = hf_models.build(
        "BertForPreTraining", seed=5, vocab_size=len(vocab), max_position_embeddings=128
    )
    hf_dir = hf_models.save(model, str(tmp_path / "hf"), vocab=vocab)
    start = str(tmp_path / "start")
    # The start's serving lengths must be the examples' for the evaluator to compare.
    lengths = ["--seq-length", "32", "--max-predictions-per-seq", "5"]
    result = run_bertpipe("convert", "--from", "huggingface", hf_dir, "--output", start, *lengths)
    assert result.returncode == 0, result.stderr[-3000:]

    path = tmp_path / "continue.yaml"
    path.write_text(yaml.safe_dump(_config(tmp_path, hf_dir, start)))
    result = run_bertpipe("run", "--config", str(path), "--runner", "local")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    store = e2e.metadata.open_store(e2e.metadata.metadata_path(str(tmp_path / "root")))
    run = e2e.metadata.get_run(store)

    evaluation = e2e._output(run, "MaskedLMEvaluator", "evaluation").uri
    with open(os.path.join(evaluation, "metrics.json")) as f:
        document = json.load(f)
    assert document["baseline"]["source"] == f"initial baseline {start} (the starting model)"
    assert document["baseline"]["comparable"] is True

    trained = export.load_exported(
        os.path.join(e2e._output(run, "Trainer", "model").uri, "Format-Serving")
    )
    assert trained.vocab == vocab
    # Training moved the weights away from the start (it started there: 20 small steps).
    start_weights = sources.load(hf_dir).weights
    got = layout.read(trained.model)
    name = "bert/encoder/layer_0/attention/self/query/kernel"
    delta = np.abs(got[name] - start_weights[name]).max()
    assert 0 < delta < 0.05

    pushed = e2e._output(run, "Pusher", "pushed_model").properties
    assert pushed["pushed"] == 1
    hf_pushed = os.path.join(pushed["pushed_destination"], "huggingface")
    assert sorted(os.listdir(hf_pushed)) == [
        "config.json",
        "model.safetensors",
        "special_tokens_map.json",
        "tokenizer_config.json",
        "vocab.txt",
    ]
