"""Baseline wiring per orchestrator, and the Kubeflow V2 compile it must survive."""

from tfx import v1 as tfx
from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner as v2

from components.evaluator import component, resolver
from components.pusher import component as pusher_component


def _pipeline(target):
    model = tfx.dsl.Importer(
        source_uri="gs://bucket/model", artifact_type=tfx.types.standard_artifacts.Model
    ).with_id("model")
    examples = tfx.dsl.Importer(
        source_uri="gs://bucket/examples", artifact_type=tfx.types.standard_artifacts.Examples
    ).with_id("examples")
    wiring = resolver.baseline_wiring(target, "gs://bucket/serving")
    evaluator = component.MaskedLMEvaluator(
        model=model.outputs["result"],
        examples=examples.outputs["result"],
        **wiring.evaluator_kwargs,
    )
    pusher = pusher_component.pusher(
        model.outputs["result"], evaluator.outputs["blessing"], "gs://bucket/serving"
    )
    nodes = [model, examples, *([wiring.resolver] if wiring.resolver else []), evaluator, pusher]
    return (
        wiring,
        evaluator,
        tfx.dsl.Pipeline(pipeline_name="p", pipeline_root="gs://bucket/root", components=nodes),
    )


def test_local_and_vertex_use_the_latest_blessed_model_resolver():
    for target in ("local", "beam", "vertex"):
        wiring, evaluator, _ = _pipeline(target)
        assert wiring.resolver.id == resolver.RESOLVER_NODE_ID
        assert evaluator.inputs[component.BASELINE_MODEL_KEY] is wiring.resolver.outputs["model"]
        assert evaluator.exec_properties[component.BASELINE_PUSH_DESTINATION_KEY] is None


def test_kubeflow_compiles_without_a_resolver_and_reads_the_push_destination():
    wiring, evaluator, pipeline = _pipeline("kubeflow")
    assert wiring.resolver is None
    assert evaluator.exec_properties[component.BASELINE_PUSH_DESTINATION_KEY] == (
        "gs://bucket/serving"
    )
    runner = v2.KubeflowV2DagRunner(
        config=v2.KubeflowV2DagRunnerConfig(default_image="bertpipe:test"),
        output_filename="pipeline.json",
    )
    spec = runner.run(pipeline, write_out=False)["pipelineSpec"]
    executors = spec["deploymentSpec"]["executors"]
    class_paths = {
        name: executor["container"]["args"][1]
        for name, executor in executors.items()
        if "--executor_class_path" in executor.get("container", {}).get("args", [])
    }
    assert class_paths == {
        "MaskedLMEvaluator_executor": "components.evaluator.executor.Executor",
        "Pusher_executor": "components.pusher.executor.Executor",
    }
    assert "resolver" not in str(spec).lower()
