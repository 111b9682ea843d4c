"""Every compiled step's container command runs here, as the KFP launcher / Vertex would run it.

Slow: each step is a fresh Python process importing TensorFlow and TFX (about a minute
for the whole stand-in pipeline per target).
"""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_metadata.proto.v0 import statistics_pb2

from pipelines.deployment import BeamConfig, DeploymentConfig, ImageConfig, VertexConfig
from pipelines.runners import kubeflow, vertex
from pipelines.tpu import TpuConfig
from tests.pipelines.runners import stand_in
from tests.pipelines.runners.launcher import LocalLauncher, run_vertex_training

pytestmark = pytest.mark.slow
IMAGE = "us-docker.pkg.dev/p/bertpipe/bertpipe:0.1.0"


def expected_log_probs():
    """The stand-in model computed directly: smoothed weighted counts of masked ids."""
    counts = np.ones(stand_in.VOCAB_SIZE)
    for i in range(6):
        values = stand_in._values(i)
        for token, weight in zip(values["masked_lm_ids"], values["masked_lm_weights"]):
            counts[token] += weight
    return np.log(counts / counts.sum())


def check_outputs(outputs, workdir):
    """Statistics per split, a model that scores as computed directly, a pushed copy."""
    (stats,) = outputs["StatisticsGen"]["artifacts"]["statistics"]["artifacts"]
    for split in stand_in.SPLITS:
        proto = statistics_pb2.DatasetFeatureStatisticsList()
        with open(os.path.join(stats["uri"], f"Split-{split}", "FeatureStats.pb"), "rb") as f:
            proto.ParseFromString(f.read())
        assert proto.datasets[0].num_examples == 6
    (model,) = outputs["Trainer"]["artifacts"]["model"]["artifacts"]
    (pushed,) = outputs["Pusher"]["artifacts"]["pushed_model"]["artifacts"]
    assert pushed["metadata"]["pushed"] == 1
    destination = pushed["metadata"]["pushed_destination"]
    assert destination.startswith(str(workdir / "serving"))
    for path in (os.path.join(model["uri"], "Format-Serving"), destination):
        scores = tf.saved_model.load(path).signatures["serving_default"](
            tf.range(stand_in.VOCAB_SIZE, dtype=tf.int32)
        )
        np.testing.assert_allclose(
            next(iter(scores.values())).numpy(), expected_log_probs(), rtol=1e-6
        )


def build(workdir, config, **kwargs):
    return stand_in.create_pipeline(
        root=kwargs.pop("root", str(workdir / "root")),
        examples_dir=stand_in.write_examples(str(workdir / "examples")),
        push_dir=str(workdir / "serving"),
        beam_pipeline_args=config.beam_pipeline_args(),
        **kwargs,
    )


def test_kubeflow_steps_run_locally_from_the_compiled_yaml(tmp_path):
    config = DeploymentConfig(images=ImageConfig(default=IMAGE), tpu=TpuConfig())
    package = kubeflow.compile_kubeflow(build(tmp_path, config), config, evaluator_id=None)
    launcher = LocalLauncher(package.pipeline_spec, tmp_path / "run")
    assert launcher.order() == ["ImportExamples", "StatisticsGen", "Trainer", "Pusher"]
    outputs = launcher.run_all()
    check_outputs(outputs, tmp_path)
    (run,) = outputs["Trainer"]["artifacts"]["model_run"]["artifacts"]
    with open(os.path.join(run["uri"], "config.json")) as f:
        assert json.load(f) == {}


def test_vertex_steps_and_tpu_training_command_run_locally(tmp_path):
    from google.cloud import aiplatform_v1
    from tfx.v1.extensions import google_cloud_ai_platform

    config = DeploymentConfig(
        images=ImageConfig(default=IMAGE, tpu=IMAGE + "-tpu"),
        tpu=TpuConfig("tpu-v6e-slice", "2x2"),
        vertex=VertexConfig(project="p"),
        beam=BeamConfig(direct_running_mode="in_memory"),  # Multi-process: the Kubeflow test.
    )
    built = build(
        tmp_path,
        config,
        root="gs://b/root",  # Only the root must be gs://; the steps here use local paths.
        trainer_class=google_cloud_ai_platform.Trainer,
        custom_config=vertex.vertex_trainer_custom_config(config, base={"experiment": "tiny"}),
    )
    job = vertex.compile_vertex(built, config)
    launcher = LocalLauncher(job["pipelineSpec"], tmp_path / "run")
    for task in ("ImportExamples", "StatisticsGen"):
        launcher.run_task(task)
    # The Trainer step only asks Vertex for a CustomJob; run that job's TPU worker command.
    custom_job = aiplatform_v1.CustomJob(run_vertex_training(launcher, "Trainer"))
    (pool,) = custom_job.job_spec.worker_pool_specs
    assert (pool.machine_spec.machine_type, pool.machine_spec.tpu_topology) == (
        "ct6e-standard-4t",
        "2x2",
    )
    assert pool.container_spec.image_uri == IMAGE + "-tpu"
    launcher.run_task("Pusher")
    check_outputs(launcher.outputs, tmp_path)
    (run,) = launcher.outputs["Trainer"]["artifacts"]["model_run"]["artifacts"]
    with open(os.path.join(run["uri"], "config.json")) as f:
        assert json.load(f)["experiment"] == "tiny"
