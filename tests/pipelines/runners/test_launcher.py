"""Every step of the real compiled pipeline runs here, as the KFP launcher / Vertex would run it.

`bertpipe compile` compiles a tiny config that keeps the example configs' deployment (TPU
Trainer, images, resources; Vertex: the TPU CustomJob and the latest-blessed Resolver),
then `LocalLauncher` runs each step's container command from the compiled file with a
hand-made ExecutorInput and chains the outputs, so import paths, artifact types and exec
properties of VocabGen, MaskedLMExampleGen, Trainer, MaskedLMEvaluator and Pusher are
proven before an image exists. Where this machine differs from the cluster, the launcher
substitutes exactly two things in the exec properties (see `compiled.local_bucket`): the
config's gs:// bucket becomes a local directory (no Google Cloud here), and the Trainer's
compiled TPU strategy becomes the default strategy (no TPU here; bfloat16 is kept).
The data steps run Beam in-process, as a pod's DirectRunner would; Dataflow is not run.

Slow: each step is a fresh Python process importing TensorFlow and TFX, and the Trainer
trains bert/tiny for 20 steps (about 1.5 min per target on 2 cores).
"""

import json
import os

import pytest
import tensorflow as tf
import tensorflow_text  # noqa: F401  (the fill_mask signature's tokenizer ops)

from components import vocabulary
from components.features import MaskedLMSchema
from components.trainer.export import load_exported
from tests.pipelines import tiny_job
from tests.pipelines.runners import compiled
from tests.pipelines.runners.launcher import LocalLauncher, run_vertex_training

pytestmark = pytest.mark.slow
STEPS = ["VocabGen", "MaskedLMExampleGen", "Trainer", "MaskedLMEvaluator", "Pusher"]


def artifact(outputs, task, key):
    (found,) = outputs[task]["artifacts"][key]["artifacts"]
    return found


def compile_tiny(tmp_path, target, example):
    output = str(tmp_path / ("pipeline.yaml" if target == "kubeflow" else "pipeline.json"))
    compiled.compile_config(target, compiled.write_tiny_config(example, tmp_path), output)
    document = compiled.documents(output)
    spec = document[0] if target == "kubeflow" else document[0]["pipelineSpec"]
    raw = spec["root"]["dag"]["tasks"]["Trainer"]["inputs"]["parameters"]["custom_config"]
    # The substitution below replaces what was compiled; it must be there to replace.
    assert compiled.TPU_STRATEGY in raw["runtimeValue"]["constant"]
    bucket, substitutions = compiled.local_bucket(tmp_path)
    return document, LocalLauncher(spec, tmp_path / "run", substitutions=substitutions), bucket


def check_outputs(outputs, bucket):
    """vocab.txt, both example splits, the exported model, metrics + blessing, the push."""
    vocab_dir = artifact(outputs, "VocabGen", "vocabulary")["uri"]
    tokens = vocabulary.read_vocab_lines(os.path.join(vocab_dir, "vocab.txt"))
    vocabulary.validate_vocab(tokens, "VocabGen output")
    assert tokens[:5] == list(vocabulary.RESERVED_TOKENS) and 100 < len(tokens) <= 400

    examples = artifact(outputs, "MaskedLMExampleGen", "examples")["uri"]
    schema = MaskedLMSchema(tiny_job.SEQ_LENGTH, tiny_job.MAX_PREDICTIONS)
    for split in ("train", "eval"):
        files = tf.io.gfile.glob(os.path.join(examples, f"Split-{split}", "*.gz"))
        records = list(tf.data.TFRecordDataset(files, compression_type="GZIP"))
        assert records, split
        assert schema.parse(tf.stack(records))["input_ids"].shape == (
            len(records),
            tiny_job.SEQ_LENGTH,
        )

    model_dir = os.path.join(artifact(outputs, "Trainer", "model")["uri"], "Format-Serving")
    model = load_exported(model_dir)
    assert model.vocab == tokens and model.info["experiment"]["trainer"]["train_steps"] == 20
    # Trained as compiled for the TPU, less the strategy: mixed bfloat16.
    assert model.info["experiment"]["runtime"]["mixed_precision_dtype"] == "bfloat16"

    evaluation = artifact(outputs, "MaskedLMEvaluator", "evaluation")["uri"]
    with open(os.path.join(evaluation, "metrics.json")) as f:
        document = json.load(f)
    loss = document["model"]["metrics"]["masked_lm_loss"]
    assert 0 < loss <= 20.0 and document["blessed"] is True and document["baseline"] is None
    assert artifact(outputs, "MaskedLMEvaluator", "blessing")["metadata"]["blessed"] == 1

    pushed = artifact(outputs, "Pusher", "pushed_model")["metadata"]
    assert pushed["pushed"] == 1
    destination = pushed["pushed_destination"]
    assert destination.startswith(os.path.join(bucket, "serving") + "/")
    fill = tf.saved_model.load(destination).signatures["fill_mask"]
    answer = fill(text=tf.constant(["The boats wait in the [MASK]."]))
    assert answer["tokens"].shape[:2] == (1, 1)
    assert set(answer["tokens"].numpy().ravel().astype(str)) <= set(tokens)


def test_kubeflow_steps_of_the_real_pipeline_run_from_the_compiled_yaml(tmp_path):
    (spec, platform), launcher, bucket = compile_tiny(
        tmp_path, "kubeflow", compiled.KUBEFLOW_CONFIG
    )
    assert list(platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]) == [
        "Trainer_executor"
    ]
    assert launcher.order() == STEPS
    check_outputs(launcher.run_all(), bucket)


def test_vertex_steps_and_the_tpu_training_job_run_from_the_compiled_json(tmp_path):
    from google.cloud import aiplatform_v1

    (job,), launcher, bucket = compile_tiny(tmp_path, "vertex", compiled.VERTEX_CONFIG)
    assert job["runtimeConfig"]["gcsOutputDirectory"] == f"{compiled.BUCKET}/root"
    resolvers = [t for t in launcher.order() if t.startswith("latest_blessed_model_resolver")]
    assert len(resolvers) == 2  # Vertex runs them; a first run finds no blessed model.
    for task in ["VocabGen", "MaskedLMExampleGen", *resolvers]:
        launcher.run_task(task)
    # The Trainer step only asks Vertex for a CustomJob; run that job's TPU worker command.
    custom_job = aiplatform_v1.CustomJob(run_vertex_training(launcher, "Trainer"))
    (pool,) = custom_job.job_spec.worker_pool_specs
    assert (pool.machine_spec.machine_type, pool.machine_spec.tpu_topology) == (
        "ct5lp-hightpu-8t",
        "2x4",
    )
    assert pool.container_spec.image_uri.endswith("bertpipe:0.1.0-tpu")
    for task in ("MaskedLMEvaluator", "Pusher"):
        launcher.run_task(task)
    check_outputs(launcher.outputs, bucket)
