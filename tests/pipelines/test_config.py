"""Tests for PipelineConfig: the built-in sample, strict loading, and `bertpipe run` refusing
a bad config before any component runs."""

import os

import pytest
import yaml

from components import configs
from components.corpus import Corpus, CorpusFormat
from components.errors import BertpipeError
from components.evaluator import resolver
from components.example_gen.config import ExampleGenConfig
from pipelines import cli, config
from pipelines.pipeline import create_pipeline
from pipelines.runners import cloud

CORPUS = os.path.join(os.path.dirname(__file__), "testdata", "harbour.txt")


def _write(tmp_path, data, name="pipeline.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return str(path)


def _minimal(tmp_path, **extra):
    return {
        "pipeline_name": "p",
        "pipeline_root": str(tmp_path / "root"),
        "corpus": [CORPUS],
        **extra,
    }


def test_builtin_sample_config_loads_with_absolute_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    loaded = config.load()
    assert loaded.pipeline_name == "bertpipe-sample"
    assert loaded.pipeline_root == str(tmp_path / "runs" / "sample")
    assert loaded.serving_dir == str(tmp_path / "runs" / "sample" / "serving")
    assert loaded.corpus == ("sample:moby-dick",)
    assert loaded.corpus_format == CorpusFormat()
    assert loaded.training.experiment == "bert/tiny"


def test_corpus_format_reaches_both_components(tmp_path):
    data = _minimal(tmp_path, corpus_format={"input_format": "jsonl", "text_field": "body"})
    loaded = config.load(_write(tmp_path, data))
    assert loaded.corpus_format == CorpusFormat(input_format="jsonl", text_field="body")
    pipeline = create_pipeline(loaded, beam_pipeline_args=loaded.beam_pipeline_args)
    corpora = {
        c.id: configs.from_json(Corpus, c.exec_properties["corpus"])
        for c in pipeline.components
        if "corpus" in c.exec_properties
    }
    assert corpora == {
        name: Corpus((CORPUS,), loaded.corpus_format) for name in ("VocabGen", "MaskedLMExampleGen")
    }
    bad = _write(tmp_path, _minimal(tmp_path, corpus_format={"input_format": "xml"}), "b.yaml")
    with pytest.raises(BertpipeError, match=r"corpus_format of .*input_format must be one of"):
        config.load(bad)


def test_every_example_config_loads_and_builds_its_pipeline(tmp_path):
    directory = os.path.dirname(config.BUILTIN_CONFIG)
    names = sorted(os.listdir(directory))
    assert {"local.yaml", "kubeflow-gke-tpu.yaml", "vertex-tpu.yaml"} <= set(names)
    for name in names:
        loaded = config.load(os.path.join(directory, name))
        target = {"kubeflow-gke-tpu.yaml": "kubeflow", "vertex-tpu.yaml": "vertex"}.get(name)
        if target is None:
            pipeline = create_pipeline(
                loaded,
                beam_pipeline_args=loaded.beam_pipeline_args,
                baseline=resolver.baseline_wiring("local", loaded.serving_dir)
                if loaded.evaluation.baseline == "latest_blessed"
                else None,
            )
        else:
            cloud.check_config(loaded, target)
            pipeline = cloud.build_pipeline(loaded, target)
        ids = {c.id for c in pipeline.components}
        assert {"VocabGen", "MaskedLMExampleGen", "Trainer", "MaskedLMEvaluator", "Pusher"} <= ids
        assert ("latest_blessed_model_resolver" in ids) == (name == "vertex-tpu.yaml"), name


def test_overrides_replace_nested_values(tmp_path):
    path = _write(tmp_path, _minimal(tmp_path))
    loaded = config.load(path, ["examples.seed=7", "training.train_steps=12"])
    assert loaded.examples == ExampleGenConfig(seed=7)
    assert loaded.training.train_steps == 12


@pytest.mark.parametrize(
    "change,message",
    [
        (
            {"examples": {"sed": 7}},
            r"unknown key 'examples.sed' in .*pipeline.yaml; did you mean "
            r"'examples.seed'\?",
        ),
        ({"corpus": None}, r"missing required key 'corpus'|'corpus' in .* must be a list"),
        ({"training": {"train_steps": -5}}, r"train_steps must be an integer >= 1; got -5"),
        ({"training": {"experiment": "bert/tiyn"}}, r"experiment 'bert/tiyn' is not registered"),
        (
            {"training": {"fresh_start": "yes"}},
            r"'training.fresh_start' in .* must be true or false",
        ),
        ({"pipeline_name": "My Pipeline"}, r"pipeline_name must be 1-63 lower-case"),
        ({"corpus": ["sample:moby"]}, r"corpus entry 'sample:moby' names no sample corpus"),
        (
            {"examples": {"lower_case": False}},
            r"learned with lower_case=True.*examples are "
            r"tokenized with lower_case=False",
        ),
    ],
)
def test_bad_config_names_the_key_and_file(tmp_path, change, message):
    data = _minimal(tmp_path)
    data.update(change)
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(BertpipeError, match=message):
        config.load(_write(tmp_path, data))


def test_run_refuses_a_bad_config_before_any_component_runs(tmp_path, capsys):
    path = _write(tmp_path, _minimal(tmp_path, training={"train_step": 5}))
    assert cli.main(["run", "--config", path]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"bertpipe: error: unknown key 'training.train_step' in {path}; did you mean "
        "'training.train_steps'? Valid keys here: checkpoint_dir, eval_steps, experiment, "
        "experiment_config, fresh_start, params, train_steps."
    ]
    assert not (tmp_path / "root").exists()


def test_run_refuses_a_corpus_glob_matching_nothing_before_running(tmp_path, capsys):
    missing = str(tmp_path / "nothing" / "*.txt")
    path = _write(tmp_path, {**_minimal(tmp_path), "corpus": [missing]})
    assert cli.main(["run", "--config", path]) == 2
    assert f"corpus glob {missing!r} matches no file" in capsys.readouterr().err
    assert not (tmp_path / "root").exists()


@pytest.mark.parametrize(
    "content,message",
    [
        (None, "vocabulary '{path}' not found"),
        ("[PAD]\n[UNK]\n[CLS]\n[SEP]\nwhale\n", "[MASK]"),
    ],
)
def test_run_refuses_a_bad_vocabulary_to_import_before_running(tmp_path, capsys, content, message):
    vocab = tmp_path / "vocab.txt"
    if content is not None:
        vocab.write_text(content)
    data = {**_minimal(tmp_path), "vocabulary": {"import_uri": str(vocab)}}
    assert cli.main(["run", "--config", _write(tmp_path, data)]) == 2
    assert message.format(path=vocab) in capsys.readouterr().err
    assert not (tmp_path / "root").exists()


def test_print_config_shows_resolved_values(tmp_path, capsys):
    path = _write(tmp_path, _minimal(tmp_path))
    assert (
        cli.main(["run", "--config", path, "--set", "examples.dupe_factor=2", "--print-config"])
        == 0
    )
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["examples"]["dupe_factor"] == 2
    assert printed["pipeline_root"] == str(tmp_path / "root")


def test_sequences_recipe_needs_an_mlm_experiment():
    with pytest.raises(BertpipeError, match=r"training.experiment=bert/tiny trains a next-sen"):
        config.load(None, ["examples.format=sequences"])
    chosen = config.load(None, ["examples.format=sequences", "training.experiment=mlm/tiny"])
    assert (chosen.examples.format, chosen.training.experiment) == ("sequences", "mlm/tiny")


@pytest.mark.parametrize("command", [["run"], ["compile", "--target", "kubeflow"]])
def test_bad_experiment_config_is_refused_naming_the_file_before_any_component(
    command, tmp_path, capsys
):
    training = {"experiment": "bert/tiny", "experiment_config": {"trainer": {"train_steps": 0}}}
    path = _write(tmp_path, _minimal(tmp_path, training=training))
    output = ["--output", str(tmp_path / "p.yaml")] if command[0] == "compile" else []
    assert cli.main([*command, "--config", path, *output]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bertpipe: error: ") and len(err.splitlines()) == 1
    assert f"training.experiment_config of {path}" in err
    assert "train_steps must be an integer >= 1; got 0" in err
    assert not (tmp_path / "root").exists() and not (tmp_path / "p.yaml").exists()
