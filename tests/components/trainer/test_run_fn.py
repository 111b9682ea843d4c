"""Tests for the TFX `run_fn`: custom_config, resolving the experiment, checkpoints that
survive a retried execution, and the real Trainer under LocalDagRunner."""

import io
import os

import pytest
from tfx import v1 as tfx
from tfx.components.trainer.fn_args_utils import FnArgs

from components.errors import BertpipeError
from components.trainer import export, run_fn
from pipelines import metadata
from pipelines.runners import local
from tests.components.trainer.examples_dir import SCHEMA, VOCAB_SIZE, write_examples_dir

PARAMS = ["task.model.num_layers=1", "trainer.steps_per_loop=4", "trainer.summary_interval=4"]


def _fn_args(root, model_run_dir="/p/Trainer/model_run/7", **kwargs):
    return FnArgs(
        train_files=[os.path.join(root, "Split-train", "*")],
        eval_files=[os.path.join(root, "Split-eval", "*")],
        train_steps=kwargs.pop("train_steps", 8),
        eval_steps=kwargs.pop("eval_steps", 1),
        model_run_dir=model_run_dir,
        serving_model_dir="/p/Trainer/model/7/Format-Serving",
        custom_config=kwargs.pop("custom_config", {"experiment": "bert/tiny", "params": PARAMS}),
    )


def test_custom_config_keys_are_checked_and_vertex_keys_pass():
    config = run_fn.parse_custom_config(
        {
            "experiment": "bert/tiny",
            "experiment_config": '{"trainer": {"train_steps": 3}}',
            "params": ["trainer.steps_per_loop=2"],
            "ai_platform_training_args": {"project": "p"},
            "ai_platform_enable_vertex": True,
        }
    )
    assert config.experiment_config == {"trainer": {"train_steps": 3}}
    assert config.params == ("trainer.steps_per_loop=2",)
    with pytest.raises(BertpipeError, match="unknown Trainer custom_config key 'param'.*'params'"):
        run_fn.parse_custom_config({"experiment": "bert/tiny", "param": []})
    with pytest.raises(BertpipeError, match="needs 'experiment'.*bert/tiny"):
        run_fn.parse_custom_config({})


def test_experiment_follows_the_examples_and_train_eval_args(tmp_path):
    root = write_examples_dir(str(tmp_path / "ex"))
    fn_args = _fn_args(root, train_steps=11, eval_steps=2)
    experiment, metadata_ = run_fn.resolve_experiment(
        run_fn.parse_custom_config(fn_args.custom_config), fn_args
    )
    assert (experiment.trainer.train_steps, experiment.trainer.validation_steps) == (11, 2)
    assert experiment.task.model.vocab_size == VOCAB_SIZE
    assert experiment.task.train_data.seq_length == SCHEMA.seq_length
    assert experiment.task.train_data.input_path == tuple(fn_args.train_files)
    assert experiment.task.validation_data.input_path == tuple(fn_args.eval_files)
    assert metadata_.vocab_path == os.path.join(root, "vocab.txt")


def test_a_config_that_contradicts_train_args_fails(tmp_path):
    root = write_examples_dir(str(tmp_path / "ex"))
    custom = {"experiment": "bert/tiny", "params": ["trainer.train_steps=5"]}
    fn_args = _fn_args(root, train_steps=11, custom_config=custom)
    with pytest.raises(BertpipeError, match=r"train_steps=5 .* contradicts TrainArgs.num_steps=11"):
        run_fn.resolve_experiment(run_fn.parse_custom_config(custom), fn_args)


def test_checkpoint_root_is_keyed_by_content_not_by_where_the_examples_live(tmp_path):
    import shutil

    first_root = write_examples_dir(str(tmp_path / "run-1" / "examples"))
    second_root = str(tmp_path / "run-2" / "examples")
    shutil.copytree(first_root, second_root)
    custom = {"experiment": "bert/tiny", "params": PARAMS, "checkpoint_root": "gs://b/ckpt"}

    def checkpoint_dir(root):
        fn_args = _fn_args(root, custom_config=custom)
        run = run_fn.parse_custom_config(custom)
        experiment, metadata_ = run_fn.resolve_experiment(run, fn_args)
        return run_fn.checkpoint_dir_for(run, fn_args, experiment, metadata_)

    first = checkpoint_dir(first_root)
    assert first.startswith("gs://b/ckpt/") and checkpoint_dir(second_root) == first
    with open(os.path.join(second_root, "vocab.txt"), "a") as f:
        f.write("extra\n")
    assert checkpoint_dir(second_root) != first


def test_checkpoint_dir_and_checkpoint_root_together_are_refused():
    custom = {"experiment": "bert/tiny", "checkpoint_dir": "gs://b/c", "checkpoint_root": "gs://b"}
    with pytest.raises(BertpipeError, match="sets both checkpoint_dir and checkpoint_root"):
        run_fn.parse_custom_config(custom)


def test_default_checkpoint_dir_is_stable_across_executions_and_keyed_by_the_experiment(
    tmp_path,
):
    root = write_examples_dir(str(tmp_path / "ex"))
    run = run_fn.parse_custom_config(_fn_args(root).custom_config)
    experiment, _ = run_fn.resolve_experiment(run, _fn_args(root))
    first = run_fn.default_checkpoint_dir("gs://b/root/Trainer/model_run/7", experiment)
    retry = run_fn.default_checkpoint_dir("gs://b/root/Trainer/model_run/9", experiment)
    assert first == retry == f"gs://b/root/Trainer/checkpoints/{run_fn.fingerprint(experiment)}"
    longer, _ = run_fn.resolve_experiment(run, _fn_args(root, train_steps=99))
    assert run_fn.default_checkpoint_dir("gs://b/root/Trainer/model_run/9", longer) != first
    # Kubeflow/Vertex: a retried task keeps its output URI <root>/<run>/<task>/model_run.
    kfp = run_fn.default_checkpoint_dir("gs://b/root/run-1/Trainer/model_run", experiment)
    assert kfp == f"gs://b/root/run-1/Trainer/checkpoints/{run_fn.fingerprint(experiment)}"


def _pipeline(pipeline_root, examples):
    # An Importer (not the generator itself), so that a second run trains on the very
    # same Examples artifact while the Trainer executes again (caching off).
    importer = tfx.dsl.Importer(
        source_uri=examples,
        artifact_type=tfx.types.standard_artifacts.Examples,
        properties={"split_names": '["train", "eval"]'},
    ).with_id("ImportExamples")
    trainer = tfx.components.Trainer(
        run_fn="components.trainer.run_fn.run_fn",
        examples=importer.outputs["result"],
        train_args=tfx.proto.TrainArgs(num_steps=8),
        eval_args=tfx.proto.EvalArgs(num_steps=1),
        custom_config={"experiment": "bert/tiny", "params": PARAMS},
    )
    return tfx.dsl.Pipeline(
        pipeline_name="trainer-test",
        pipeline_root=pipeline_root,
        components=[importer, trainer],
        # Every run executes the Trainer again: a stand-in for a retried execution.
        enable_cache=False,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            metadata.metadata_path(pipeline_root)
        ),
    )


def _outputs(run):
    return {a.key: a.uri for a in run.execution("Trainer").outputs}


def _files(directory):
    return {
        name: os.stat(os.path.join(directory, name)).st_mtime_ns for name in os.listdir(directory)
    }


@pytest.mark.slow
def test_trainer_runs_run_fn_under_local_dag_runner_and_a_new_execution_resumes(
    tmp_path, generated_examples
):
    examples = generated_examples.root  # written by the example generator
    pipeline_root = str(tmp_path / "root")
    first = local.run_pipeline(
        _pipeline(pipeline_root, examples), runner="local", out=io.StringIO()
    )
    assert first.execution("Trainer").state == "complete"
    outputs = _outputs(first)
    loaded = export.load_exported(os.path.join(outputs["model"], "Format-Serving"))
    assert loaded.info["global_step"] == 8
    assert loaded.experiment.trainer.validation_steps == 1
    assert os.path.isdir(os.path.join(outputs["model_run"], "train"))  # TensorBoard
    (checkpoint_dir,) = [
        os.path.join(pipeline_root, "Trainer", "checkpoints", name)
        for name in os.listdir(os.path.join(pipeline_root, "Trainer", "checkpoints"))
    ]
    assert os.path.basename(checkpoint_dir) == run_fn.fingerprint(loaded.experiment)
    saved = _files(checkpoint_dir)
    assert {"ckpt-8.index", "experiment.json"} <= set(saved)

    second = local.run_pipeline(
        _pipeline(pipeline_root, examples), runner="local", out=io.StringIO()
    )
    again = _outputs(second)
    assert again["model_run"] != outputs["model_run"]
    # The new execution found the finished checkpoint: no step trained, none saved.
    assert not os.path.exists(os.path.join(again["model_run"], "train"))
    assert {k: v for k, v in _files(checkpoint_dir).items() if k.startswith("ckpt")} == {
        k: v for k, v in saved.items() if k.startswith("ckpt")
    }
    assert (
        export.load_exported(os.path.join(again["model"], "Format-Serving")).info["global_step"]
        == 8
    )
