"""task.init_checkpoint's vocabulary against the examples': a match trains; any difference
(even a same-size vocabulary with two tokens swapped) fails before anything is written,
in one line naming both files, how many ids differ and the first difference."""

from __future__ import annotations

import os
import shutil

import pytest
from tfx.components.trainer.fn_args_utils import FnArgs

from components.convert import sources
from components.errors import BertpipeError
from components.trainer import run_fn
from pipelines import cli
from tests.components.convert import hf_models
from tests.components.convert.test_model_garden import FIXTURE
from tests.components.trainer import examples_dir

pytest.importorskip("transformers")

# bert/tiny resized to the random Hugging Face model's architecture.
PARAMS = [
    "task.model.hidden_size=32",
    "task.model.num_layers=2",
    "task.model.num_attention_heads=4",
    "task.model.intermediate_size=48",
    "task.model.max_position_embeddings=128",
    "task.model.hidden_activation=gelu_exact",
    "task.train_data.global_batch_size=8",
    "task.validation_data.global_batch_size=8",
    "trainer.train_steps=2",
    "trainer.steps_per_loop=1",
    "trainer.checkpoint_interval=1",
    "trainer.summary_interval=1",
    "trainer.optimizer.warmup_steps=1",
]


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
    """A random Hugging Face BERT whose vocab.txt is the examples helper's vocabulary."""
    model = hf_models.build(
        "BertForPreTraining",
        seed=5,
        vocab_size=examples_dir.VOCAB_SIZE,
        max_position_embeddings=128,
    )
    directory = str(tmp_path_factory.mktemp("vocab_check") / "hf")
    return hf_models.save(model, directory, vocab=examples_dir.vocab_tokens())


def _examples(root, swap=()) -> str:
    """The examples helper's directory; `swap` exchanges two ids' tokens in its vocab.txt."""
    examples_dir.write_examples_dir(str(root))
    tokens = examples_dir.vocab_tokens()
    if swap:
        i, j = swap
        tokens[i], tokens[j] = tokens[j], tokens[i]
    with open(os.path.join(root, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(tokens) + "\n")
    return str(root)


def _expected_error(hf_dir, examples) -> str:
    return (
        f"bertpipe: error: init_checkpoint {hf_dir} has the vocabulary {hf_dir}/vocab.txt but "
        f"the examples were written with {examples}/vocab.txt: 2 of 100 ids differ, first id "
        f"10: 'w5' in the checkpoint's, 'w7' in the examples'. Write the examples with the "
        f"checkpoint's vocabulary (vocabulary.import_uri: {hf_dir}/vocab.txt, or bertpipe "
        f"examples --vocab {hf_dir}/vocab.txt)."
    )


def _train(hf_dir, examples, model_dir) -> int:
    args = ["train", "--experiment", "bert/tiny", "--examples", examples]
    args += ["--model-dir", model_dir, "--param", f"task.init_checkpoint={hf_dir}"]
    for param in PARAMS:
        args += ["--param", param]
    return cli.main(args)


@pytest.mark.slow
def test_train_continues_from_checkpoint_when_vocabularies_match(hf_dir, tmp_path, capsys):
    examples = _examples(tmp_path / "ex")
    assert _train(hf_dir, examples, str(tmp_path / "run")) == 0
    out, err = capsys.readouterr()
    assert "bertpipe: trained bert/tiny to step 2" in out
    assert f"vocabulary checked: {examples}/vocab.txt is {hf_dir}/vocab.txt (100 tokens)" in err
    assert f"initialized the model from huggingface checkpoint {hf_dir}" in err


def test_train_fails_before_writing_when_two_tokens_are_swapped(hf_dir, tmp_path, capsys):
    examples = _examples(tmp_path / "ex", swap=(10, 12))
    model_dir = tmp_path / "run"
    assert _train(hf_dir, examples, str(model_dir)) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines()[-1] == _expected_error(hf_dir, examples)
    assert "Traceback" not in err
    assert not model_dir.exists()


def test_run_fn_fails_before_writing_when_two_tokens_are_swapped(hf_dir, tmp_path):
    examples = _examples(tmp_path / "ex", swap=(10, 12))
    fn_args = FnArgs(
        train_files=[os.path.join(examples, "Split-train", "*")],
        eval_files=[os.path.join(examples, "Split-eval", "*")],
        train_steps=2,
        eval_steps=1,
        model_run_dir=str(tmp_path / "model_run"),
        serving_model_dir=str(tmp_path / "serving"),
        custom_config={
            "experiment": "bert/tiny",
            "params": [*PARAMS, f"task.init_checkpoint={hf_dir}"],
            "checkpoint_dir": str(tmp_path / "checkpoints"),
        },
    )
    with pytest.raises(BertpipeError) as error:
        run_fn.run_fn(fn_args)
    assert f"bertpipe: error: {error.value}" == _expected_error(hf_dir, examples)
    assert sorted(os.listdir(tmp_path)) == ["ex"]


def test_vocabulary_is_not_checked_when_model_garden_checkpoint_has_none(tmp_path):
    for name in ("checkpoint", "ckpt-1.index", "ckpt-1.data-00000-of-00001"):
        shutil.copy(os.path.join(FIXTURE, name), tmp_path / name)
    examples = _examples(tmp_path / "ex", swap=(10, 12))
    line = sources.check_vocabulary(str(tmp_path), f"{examples}/vocab.txt")
    assert line == (
        f"vocabulary not checked: the model-garden checkpoint {tmp_path} has no vocab.txt beside it"
    )


def test_vocabulary_check_reports_sizes_when_checkpoint_vocabulary_is_longer(hf_dir, tmp_path):
    examples = str(tmp_path)
    with open(os.path.join(examples, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(examples_dir.vocab_tokens()[:98]) + "\n")
    with pytest.raises(
        BertpipeError,
        match=r"2 of 100 ids differ, first id 98: 'w93' in the "
        r"checkpoint's, no token in the examples'",
    ):
        sources.check_vocabulary(hf_dir, f"{examples}/vocab.txt")


def test_vocabulary_check_resolves_examples_vocab_when_given_a_bundled_name(hf_dir):
    from components import vocabulary

    bundled = vocabulary.resolve_vocab_path(vocabulary.BERT_BASE_UNCASED)
    with pytest.raises(BertpipeError) as error:
        sources.check_vocabulary(hf_dir, vocabulary.BERT_BASE_UNCASED)
    theirs = examples_dir.vocab_tokens()
    ours = vocabulary.read_vocab_lines(bundled)
    differing = sum(i >= len(theirs) or theirs[i] != t for i, t in enumerate(ours))
    assert (
        f"examples were written with {bundled}: {differing} of {len(ours)} ids differ, first id "
        f"1: '[UNK]' in the checkpoint's, '[unused0]' in the examples'." in str(error.value)
    )


def test_vocabulary_is_not_checked_when_init_checkpoint_is_a_training_checkpoint(tmp_path):
    import tensorflow as tf

    tf.train.Checkpoint(step=tf.Variable(1)).save(str(tmp_path / "ckpt"))
    line = sources.check_vocabulary(str(tmp_path), "bert-base-uncased")
    assert line == (
        f"vocabulary not checked: init_checkpoint {tmp_path} is not a published BERT or a "
        f"bertpipe export (a training checkpoint carries no vocab.txt)"
    )
