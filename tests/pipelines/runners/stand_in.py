"""A small, real TFX pipeline for the compilers' guards that bertpipe's own pipeline never trips.

Importer (Examples at a gs:// URI) -> StatisticsGen (Beam) -> Trainer (bertpipe's run_fn)
-> Pusher, optionally with a TFX Resolver node. `create_pipeline` in pipelines/pipeline.py
never builds a Resolver for Kubeflow nor a standard Trainer for Vertex with a TPU section,
so the Kubeflow compiler's Resolver refusal and the Vertex compiler's "TPU needs the Vertex
Trainer extension" refusal are tested on this pipeline. Everything else is tested on the
real pipeline (tests in this package).
"""

from __future__ import annotations

import json

SPLITS = ("train", "eval")
RUN_FN = "components.trainer.run_fn.run_fn"


def create_pipeline(*, root: str, examples_dir: str, push_dir: str, resolver: bool = False):
    """The stand-in pipeline; `resolver` adds a latest-Model Resolver node."""
    from tfx import v1 as tfx

    importer = tfx.dsl.Importer(
        source_uri=examples_dir,
        artifact_type=tfx.types.standard_artifacts.Examples,
        properties={"split_names": json.dumps(list(SPLITS))},
    ).with_id("ImportExamples")
    statistics = tfx.components.StatisticsGen(examples=importer.outputs["result"])
    trainer = tfx.components.Trainer(
        run_fn=RUN_FN,
        examples=importer.outputs["result"],
        train_args=tfx.proto.TrainArgs(num_steps=1),
        eval_args=tfx.proto.EvalArgs(num_steps=1),
    )
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=push_dir)
        ),
    )
    nodes = [importer, statistics, trainer, pusher]
    if resolver:
        nodes.append(
            tfx.dsl.Resolver(
                strategy_class=tfx.dsl.experimental.LatestArtifactStrategy,
                model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
            ).with_id("LatestModel")
        )
    return tfx.dsl.Pipeline(pipeline_name="stand-in", pipeline_root=root, components=nodes)
