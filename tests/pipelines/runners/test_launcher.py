"""Every step of the real compiled pipeline runs here, as the KFP launcher / Vertex runs it.

`bertpipe compile` compiles a tiny config that keeps the example configs' deployment (TPU
Trainer, images, resources; Vertex: the TPU CustomJob and the latest-blessed Resolver),
then `LocalLauncher` (launcher.py, each behaviour cited there) runs each step's container
command from the compiled file in its own mount namespace, with the ExecutorInput, volumes
and environment the orchestrator gives it, and publishes the outputs to an ML Metadata
stand-in that later steps and later runs resolve from. The data steps run Beam
in-process, as a pod's DirectRunner would; Dataflow is not run.

Slow: each step is a fresh Python process importing TensorFlow and TFX, and the Trainer
trains bert/tiny for 20 steps.
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
from tests.pipelines.runners import compiled, pod
from tests.pipelines.runners.launcher import KUBEFLOW, VERTEX, LocalLauncher, StepFailed
from tests.pipelines.runners.metadata_store import MetadataStore
from tests.pipelines.runners.vertex_training import run_vertex_training

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not pod.namespaces_available(), reason="no user mount namespaces"),
]
STEPS = ["VocabGen", "MaskedLMExampleGen", "Trainer", "MaskedLMEvaluator", "Pusher"]
ROOT = f"{compiled.BUCKET}/root"


def artifact(outputs, task, key):
    (found,) = outputs[task]["artifacts"][key]["artifacts"]
    return found


def compile_tiny(tmp_path, target, *overrides):
    example = compiled.KUBEFLOW_CONFIG if target == KUBEFLOW else compiled.VERTEX_CONFIG
    output = str(tmp_path / ("pipeline.yaml" if target == KUBEFLOW else "pipeline.json"))
    config = compiled.write_tiny_config(example, tmp_path)
    compiled.compile_config(target, config, output, *overrides)
    document = compiled.documents(output)
    spec = document[0] if target == KUBEFLOW else document[0]["pipelineSpec"]
    raw = spec["root"]["dag"]["tasks"]["Trainer"]["inputs"]["parameters"]["custom_config"]
    # The substitution below replaces what was compiled; it must be there to replace.
    assert compiled.TPU_STRATEGY in raw["runtimeValue"]["constant"]
    return document, spec


def launcher_for(spec, tmp_path, target, **kwargs):
    bucket, substitutions = compiled.local_bucket(tmp_path)
    launcher = LocalLauncher(
        spec,
        tmp_path / "pods",
        backend=target,
        pipeline_root=ROOT,
        substitutions=substitutions,
        **kwargs,
    )
    return launcher, bucket


def check_outputs(launcher, bucket):
    """vocab.txt, both example splits, the exported model, metrics + blessing, the push."""
    outputs, local = launcher.outputs, launcher.local
    vocab_dir = local(artifact(outputs, "VocabGen", "vocabulary")["uri"])
    tokens = vocabulary.read_vocab_lines(os.path.join(vocab_dir, "vocab.txt"))
    vocabulary.validate_vocab(tokens, "VocabGen output")
    assert tokens[:5] == list(vocabulary.RESERVED_TOKENS) and 100 < len(tokens) <= 400
    assert not os.path.exists(os.path.join(vocab_dir, ".vocab_gen_work"))

    examples = local(artifact(outputs, "MaskedLMExampleGen", "examples")["uri"])
    schema = MaskedLMSchema(tiny_job.SEQ_LENGTH, tiny_job.MAX_PREDICTIONS)
    for split in ("train", "eval"):
        files = tf.io.gfile.glob(os.path.join(examples, f"Split-{split}", "*.gz"))
        records = list(tf.data.TFRecordDataset(files, compression_type="GZIP"))
        assert records, split
        parsed = schema.parse(tf.stack(records))
        assert parsed["input_ids"].shape == (len(records), tiny_job.SEQ_LENGTH)

    model_uri = local(artifact(outputs, "Trainer", "model")["uri"])
    model = load_exported(os.path.join(model_uri, "Format-Serving"))
    assert model.vocab == tokens and model.info["experiment"]["trainer"]["train_steps"] == 20
    # Trained as compiled for the TPU, less the strategy: mixed bfloat16.
    assert model.info["experiment"]["runtime"]["mixed_precision_dtype"] == "bfloat16"

    evaluation = local(artifact(outputs, "MaskedLMEvaluator", "evaluation")["uri"])
    with open(os.path.join(evaluation, "metrics.json")) as f:
        document = json.load(f)
    loss = document["model"]["metrics"]["masked_lm_loss"]
    assert 0 < loss <= 20.0 and document["blessed"] is True and document["baseline"] is None
    blessing = artifact(outputs, "MaskedLMEvaluator", "blessing")["metadata"]
    assert blessing["blessed"] == 1
    # The blessing names the model as the orchestrator's ML Metadata does (defect 6).
    assert blessing["current_model_id"] == artifact(outputs, "Trainer", "model")["name"]

    pushed = artifact(outputs, "Pusher", "pushed_model")["metadata"]
    assert pushed["pushed"] == 1
    destination = pushed["pushed_destination"]
    assert destination.startswith(os.path.join(bucket, "serving") + "/")
    fill = tf.saved_model.load(destination).signatures["fill_mask"]
    answer = fill(text=tf.constant(["The boats wait in the [MASK]."]))
    assert answer["tokens"].shape[:2] == (1, 1)
    assert set(answer["tokens"].numpy().ravel().astype(str)) <= set(tokens)


def tree_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def test_kubeflow_steps_of_the_real_pipeline_run_from_the_compiled_yaml(tmp_path):
    (spec, platform), _ = compile_tiny(tmp_path, KUBEFLOW)
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    # Defect 4: the compiled Trainer, evaluator and Pusher stage their inputs on a volume
    # of their own (deployment.kubeflow.input_staging defaults).
    staged = {"Trainer_executor", "MaskedLMEvaluator_executor", "Pusher_executor"}
    assert {k for k, e in executors.items() if "genericEphemeralVolume" in e} == staged
    launcher, bucket = launcher_for(spec, tmp_path, KUBEFLOW, platform_spec=platform)
    assert launcher.order() == STEPS
    launcher.run_all()
    # Defect 3: no step leaves intermediates on the pod's own disk.
    assert launcher.pod_scratch == {step: [] for step in STEPS}
    check_outputs(launcher, bucket)
    # Defect 4: KFP 2.5.0 copies every input artifact under /gcs before the command
    # starts; the copies (the whole Examples artifact for the Trainer, examples + model
    # for the evaluator) land on the steps' staging volumes, not on the node's disk.
    outputs, local = launcher.outputs, launcher.local
    examples = tree_bytes(local(artifact(outputs, "MaskedLMExampleGen", "examples")["uri"]))
    model = tree_bytes(local(artifact(outputs, "Trainer", "model")["uri"]))
    assert launcher.downloaded_bytes["Trainer"] == examples
    assert launcher.boot_disk_bytes["Trainer"] == 0
    assert launcher.downloaded_bytes["MaskedLMEvaluator"] >= examples + model
    assert launcher.boot_disk_bytes["MaskedLMEvaluator"] == 0
    assert launcher.boot_disk_bytes["Pusher"] == 0
    # The steps run as the image's UID/GID 1000 and the staging volume's root is a fresh
    # filesystem's (root:root 0755): only the fsGroup kubernetes/ gives every run lets
    # KFP's launcher stage the Trainer's inputs there. Without it the step fails first.
    assert launcher.fs_group == 1000
    without = LocalLauncher(
        spec,
        tmp_path / "pods-without-fs-group",  # a new pod: fresh volumes
        backend=KUBEFLOW,
        pipeline_root=ROOT,
        substitutions=launcher.substitutions,
        store=launcher.store,
        platform_spec=platform,
        fs_group=None,
    )
    with pytest.raises(StepFailed) as failed:
        without.run_task("Trainer")
    assert str(failed.value) == (
        f"failed to download input artifact 'examples' from remote storage URI "
        f"{artifact(outputs, 'MaskedLMExampleGen', 'examples')['uri']!r}: "
        f"mkdir /gcs/{compiled.BUCKET.removeprefix('gs://')}/root: permission denied"
    )


def test_vertex_steps_run_and_the_next_run_resolves_the_blessed_model(tmp_path):
    from google.cloud import aiplatform_v1

    (job,), spec = compile_tiny(tmp_path, VERTEX)
    assert job["runtimeConfig"]["gcsOutputDirectory"] == ROOT
    store = MetadataStore()
    launcher, bucket = launcher_for(spec, tmp_path, VERTEX, store=store)
    resolvers = [t for t in launcher.order() if t.startswith("latest_blessed_model_resolver")]
    assert len(resolvers) == 2  # Vertex runs them; a first run finds no blessed model.
    for task in ["VocabGen", "MaskedLMExampleGen", *sorted(resolvers)]:
        launcher.run_task(task)
    assert all(
        not a["artifacts"] for r in resolvers for a in launcher.outputs[r]["artifacts"].values()
    )
    # The Trainer step only asks Vertex for a CustomJob; run that job's TPU worker command.
    custom_job = aiplatform_v1.CustomJob(run_vertex_training(launcher, "Trainer"))
    (worker_pool,) = custom_job.job_spec.worker_pool_specs
    machine = worker_pool.machine_spec
    assert (machine.machine_type, machine.tpu_topology) == ("ct5lp-hightpu-8t", "2x4")
    assert worker_pool.container_spec.image_uri.endswith("bertpipe:0.1.0-tpu")
    for task in ("MaskedLMEvaluator", "Pusher"):
        launcher.run_task(task)
    check_outputs(launcher, bucket)

    # Defect 6: the next run's latest-blessed resolver finds this run's model.
    second, _ = launcher_for(spec, tmp_path, VERTEX, store=store, run_id="run-2")
    for task in sorted(resolvers):
        second.run_task(task)
    (model_resolver,) = [r for r in resolvers if r.endswith("model-resolver")]
    found = artifact(second.outputs, model_resolver, "model")
    assert found["name"] == artifact(launcher.outputs, "Trainer", "model")["name"]


def test_kubeflow_trainer_of_a_new_run_continues_from_the_killed_runs_checkpoint(tmp_path):
    (spec, _), _ = compile_tiny(tmp_path, KUBEFLOW, "training.train_steps=200")
    store = MetadataStore()
    checkpoints = os.path.join(str(tmp_path), "bucket", "root", "checkpoints", "Trainer")

    def a_checkpoint_was_written(_pod_dir):
        return bool(tf.io.gfile.glob(os.path.join(checkpoints, "*", "ckpt-*.index")))

    first, _ = launcher_for(spec, tmp_path, KUBEFLOW, store=store, run_id="run-1")
    for task in ("VocabGen", "MaskedLMExampleGen"):
        first.run_task(task)
    with pytest.raises(StepFailed, match="killed"):
        first.run_task("Trainer", stop_when=a_checkpoint_was_written)
    (fingerprint,) = os.listdir(checkpoints)
    latest = tf.train.latest_checkpoint(os.path.join(checkpoints, fingerprint))
    step = int(latest.rsplit("-", 1)[1])
    assert 10 <= step < 200  # killed mid-training, after at least one checkpoint

    # A new run: new run directory, new Examples artifact with the same content.
    second, _ = launcher_for(spec, tmp_path, KUBEFLOW, store=store, run_id="run-2")
    for task in ("VocabGen", "MaskedLMExampleGen", "Trainer"):
        second.run_task(task)
    examples = [artifact(x.outputs, "MaskedLMExampleGen", "examples") for x in (first, second)]
    assert examples[0]["uri"] != examples[1]["uri"]
    assert f"training continues from step {step}" in second.logs["Trainer"]
    assert os.listdir(checkpoints) == [fingerprint]


def test_kubeflow_trainer_starts_fresh_when_the_config_says_so(tmp_path):
    (spec, _), _ = compile_tiny(tmp_path, KUBEFLOW, "training.fresh_start=true")
    raw = spec["root"]["dag"]["tasks"]["Trainer"]["inputs"]["parameters"]["custom_config"]
    assert "checkpoint_root" not in json.loads(raw["runtimeValue"]["constant"])


@pytest.mark.parametrize(
    "written_as,finds_model",
    [("TFX's hashed integer id (what MaskedLMEvaluator writes)", False), ("name", True)],
)
def test_vertex_latest_blessed_resolver_finds_the_model_only_by_name(
    tmp_path, written_as, finds_model
):
    from pipelines.runners import entrypoint

    (_,), spec = compile_tiny(tmp_path, VERTEX)
    store = MetadataStore()
    first, _ = launcher_for(spec, tmp_path, VERTEX, store=store)
    model = store.publish(
        name_for=first._name_for, title="tfx.Model", uri=f"{ROOT}/m", metadata={},
        pipeline=first.pipeline, run="run-1", task="Trainer", key="model",
    )  # fmt: skip
    model_id = model.name if finds_model else float(entrypoint.hashed_id(model.name))
    store.publish(
        name_for=first._name_for, title="tfx.ModelBlessing", uri=f"{ROOT}/b",
        metadata={"blessed": 1.0, "current_model_id": model_id}, pipeline=first.pipeline,
        run="run-1", task="MaskedLMEvaluator", key="blessing",
    )  # fmt: skip
    second, _ = launcher_for(spec, tmp_path, VERTEX, store=store, run_id="run-2")
    resolvers = sorted(t for t in second.order() if t.startswith("latest_blessed_model_resolver"))
    for task in resolvers:
        second.run_task(task)
    found = second.outputs[resolvers[-1]]["artifacts"]["model"]["artifacts"]
    assert [a["name"] for a in found] == ([model.name] if finds_model else [])
