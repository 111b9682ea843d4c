"""MaskedLMEvaluator's component spec and the keys that component, executor and tests share.

The executor imports this module, not `component.py`, so the two never import each other.
"""

from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

MODEL_KEY = "model"
EXAMPLES_KEY = "examples"
BASELINE_MODEL_KEY = "baseline_model"
EVALUATION_KEY = "evaluation"
BLESSING_KEY = "blessing"
THRESHOLDS_KEY = "thresholds"
MAX_EVAL_EXAMPLES_KEY = "max_eval_examples"
BASELINE_PUSH_DESTINATION_KEY = "baseline_push_destination"
EVAL_SPLIT_KEY = "eval_split"
EVAL_BATCH_SIZE_KEY = "eval_batch_size"
INITIAL_BASELINE_KEY = "initial_baseline"


class MaskedLMEvaluatorSpec(ComponentSpec):
    """Inputs, parameters and outputs of `MaskedLMEvaluator`."""

    PARAMETERS = {
        THRESHOLDS_KEY: ExecutionParameter(type=str),
        MAX_EVAL_EXAMPLES_KEY: ExecutionParameter(type=int),
        BASELINE_PUSH_DESTINATION_KEY: ExecutionParameter(type=str, optional=True),
        EVAL_SPLIT_KEY: ExecutionParameter(type=str),
        EVAL_BATCH_SIZE_KEY: ExecutionParameter(type=int),
        INITIAL_BASELINE_KEY: ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {
        MODEL_KEY: ChannelParameter(type=standard_artifacts.Model),
        EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
        BASELINE_MODEL_KEY: ChannelParameter(type=standard_artifacts.Model, optional=True),
    }
    OUTPUTS = {
        EVALUATION_KEY: ChannelParameter(type=standard_artifacts.ModelEvaluation),
        BLESSING_KEY: ChannelParameter(type=standard_artifacts.ModelBlessing),
    }
