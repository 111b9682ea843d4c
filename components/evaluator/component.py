"""`MaskedLMEvaluator`: Task metrics on the held-out split, a blessing, and a report.

Inputs: `model` (the Trainer's `Model`), `examples` (an `Examples` artifact; its
`eval_split` is read), optional `baseline_model` (a `Model`, e.g. from
`resolver.latest_blessed_model_resolver()`).
Parameters: `thresholds` (`blessing.Thresholds` as JSON), `max_eval_examples` (0 = all),
`baseline_push_destination` (a Pusher base directory: its newest complete version is the
baseline; the resolver-free path for the open-source Kubeflow backend), `eval_split`,
`eval_batch_size` (0 = the experiment's validation batch size). The experiment is read
from the exported model's `bertpipe_model.json`, so the Task is the one that trained it.
Outputs: `evaluation` (`ModelEvaluation`: metrics.json, report.html) and `blessing`
(`ModelBlessing` with the custom properties TFX's Pusher and `LatestBlessedModelStrategy`
read: `blessed` 1/0, `current_model_id`, ...).
"""

from __future__ import annotations

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts

from components import configs
from components.errors import BertpipeError
from components.evaluator import executor
from components.evaluator.blessing import Thresholds
from components.evaluator.spec import (  # noqa: F401  (re-exported: the keys callers use)
    BASELINE_MODEL_KEY,
    BASELINE_PUSH_DESTINATION_KEY,
    BLESSING_KEY,
    EVAL_BATCH_SIZE_KEY,
    EVAL_SPLIT_KEY,
    EVALUATION_KEY,
    EXAMPLES_KEY,
    INITIAL_BASELINE_KEY,
    MAX_EVAL_EXAMPLES_KEY,
    MODEL_KEY,
    THRESHOLDS_KEY,
    MaskedLMEvaluatorSpec,
)


def _thresholds(value) -> Thresholds:
    if value is None:
        return Thresholds()
    if isinstance(value, Thresholds):
        return value
    return configs.from_dict(Thresholds, value, source="MaskedLMEvaluator thresholds")


class MaskedLMEvaluator(base_component.BaseComponent):
    """Evaluates a trained masked-LM model, compares it with a baseline, blesses it.

    Args:
      model: channel of the Trainer's `Model`.
      examples: channel of the `Examples` holding the eval split.
      baseline_model: optional channel of the `Model` to compare with (e.g. the latest
        blessed model from a resolver; local and Vertex runs).
      thresholds: a `Thresholds` or its dict form; default `Thresholds()`.
      max_eval_examples: evaluate only the first N records of the split (0 = all).
      baseline_push_destination: the Pusher's base directory; its newest complete version
        is the baseline (works on every orchestrator). Not together with `baseline_model`.
      eval_split: the split of `examples` to read.
      eval_batch_size: records per batch (0 = the experiment's validation batch size).
      initial_baseline: a bertpipe export (e.g. `bertpipe convert` of the checkpoint a
        continued pretraining starts from) compared with while the other baseline source
        holds no model yet, so the first blessing means "better than the start".

    Raises:
      BertpipeError: a bad parameter (named, with the allowed values).
    """

    SPEC_CLASS = MaskedLMEvaluatorSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self,
        model: types.BaseChannel,
        examples: types.BaseChannel,
        baseline_model: types.BaseChannel | None = None,
        thresholds: Thresholds | dict | None = None,
        max_eval_examples: int = 0,
        baseline_push_destination: str = "",
        eval_split: str = "eval",
        eval_batch_size: int = 0,
        initial_baseline: str = "",
    ):
        for name, value in (
            ("max_eval_examples", max_eval_examples),
            ("eval_batch_size", eval_batch_size),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise BertpipeError(
                    f"MaskedLMEvaluator {name} must be an integer >= 0 (0 = "
                    f"{'all records' if name == 'max_eval_examples' else 'the experiment'}); "
                    f"got {value!r}."
                )
        if baseline_model is not None and baseline_push_destination:
            raise BertpipeError(
                "MaskedLMEvaluator takes one baseline source: baseline_model (a resolver's "
                "channel, local/Vertex) or baseline_push_destination (any orchestrator), not "
                "both."
            )
        if not isinstance(eval_split, str) or not eval_split:
            raise BertpipeError(
                f"MaskedLMEvaluator eval_split must be a split name; got {eval_split!r}."
            )
        spec = MaskedLMEvaluatorSpec(
            model=model,
            examples=examples,
            baseline_model=baseline_model,
            thresholds=configs.to_json(_thresholds(thresholds)),
            max_eval_examples=max_eval_examples,
            baseline_push_destination=baseline_push_destination or None,
            eval_split=eval_split,
            eval_batch_size=eval_batch_size,
            initial_baseline=initial_baseline or None,
            evaluation=types.Channel(type=standard_artifacts.ModelEvaluation),
            blessing=types.Channel(type=standard_artifacts.ModelBlessing),
        )
        super().__init__(spec=spec)
