"""Where the evaluator's baseline comes from, per orchestrator.

Local (Beam/Local DAG runners) and Vertex AI Pipelines run TFX `Resolver` nodes, so the
baseline is the latest blessed model in ML Metadata. The open-source Kubeflow Pipelines
backend rejects Resolver nodes ("resolver executors not implemented"), so there the
evaluator reads the model currently at the push destination instead
(`baseline_push_destination`). Both give the model the last blessed run pushed.
"""

from __future__ import annotations

import dataclasses

from tfx import v1 as tfx

RESOLVER_NODE_ID = "latest_blessed_model_resolver"
# Orchestrators whose backends execute Resolver nodes.
RESOLVER_TARGETS = ("local", "beam", "vertex")


def latest_blessed_model_resolver(node_id: str = RESOLVER_NODE_ID) -> tfx.dsl.Resolver:
    """The Resolver node whose `outputs["model"]` is the latest blessed `Model`.

    It pairs `ModelBlessing` artifacts with `blessed` = 1 and their `current_model_id`
    (both written by `MaskedLMEvaluator`) with `Model` artifacts; on the first run its
    channel is empty and the evaluator judges on the absolute thresholds alone.
    """
    return tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id(node_id)


@dataclasses.dataclass(frozen=True)
class BaselineWiring:
    """What the pipeline builder adds for the baseline on one target.

    Attributes:
      resolver: a node to add to the pipeline, or None.
      evaluator_kwargs: keyword arguments for `MaskedLMEvaluator` (`baseline_model=` the
        resolver's channel, or `baseline_push_destination=`).
    """

    resolver: tfx.dsl.Resolver | None
    evaluator_kwargs: dict


def baseline_wiring(target: str, push_destination: str) -> BaselineWiring:
    """The baseline wiring for `target` ("local", "beam", "vertex" or "kubeflow").

    Args:
      target: the orchestrator the pipeline is built for.
      push_destination: the Pusher's base directory (used where resolvers are rejected).
    """
    if target in RESOLVER_TARGETS:
        resolver = latest_blessed_model_resolver()
        return BaselineWiring(resolver, {"baseline_model": resolver.outputs["model"]})
    return BaselineWiring(None, {"baseline_push_destination": push_destination})
