"""The `MaskedLMEvaluator` executor: resolve artifacts, evaluate, write the outputs."""

from __future__ import annotations

import json
import logging
import posixpath
from typing import Any

import tensorflow as tf
from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import path_utils

from components import configs
from components.errors import BertpipeError
from components.evaluator import evaluation
from components.evaluator import spec as c
from components.evaluator.blessing import Thresholds

# The keys TFX's Pusher (`model_utils.is_model_blessed`) and `LatestBlessedModelStrategy`
# read, as tfx.components.evaluator.constants spells them (not imported: that package
# pulls in TensorFlow Model Analysis).
BLESSED = "blessed"
CURRENT_MODEL = "current_model"
CURRENT_MODEL_ID = "current_model_id"
BASELINE_MODEL = "baseline_model"
BASELINE_MODEL_ID = "baseline_model_id"
BLESSING_MESSAGE = "blessing_message"
BLESSED_FILE, NOT_BLESSED_FILE = "BLESSED", "NOT_BLESSED"

_log = logging.getLogger(__name__)


def serving_dir(model: types.Artifact) -> str:
    """The export inside a `Model` artifact (`<uri>/Format-Serving`), as the Pusher finds it."""
    return path_utils.serving_model_path(model.uri, path_utils.is_old_model_artifact(model))


def split_pattern(examples: types.Artifact, split: str) -> str:
    """`<uri>/Split-<split>/*`, or a BertpipeError naming the splits there are."""
    names = artifact_utils.decode_split_names(examples.split_names)
    if split not in names:
        raise BertpipeError(
            f"the Examples artifact {examples.uri} has no split {split!r} (it has {names}); "
            f"set the evaluator's eval_split."
        )
    return posixpath.join(artifact_utils.get_split_uri([examples], split), "*")


class Executor(base_executor.BaseExecutor):
    """Evaluates `model` (and a baseline) on the eval split; writes evaluation + blessing."""

    def Do(
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        from components.trainer import export

        self._log_startup(input_dict, output_dict, exec_properties)
        model = artifact_utils.get_single_instance(input_dict[c.MODEL_KEY])
        examples = artifact_utils.get_single_instance(input_dict[c.EXAMPLES_KEY])
        pattern = split_pattern(examples, exec_properties[c.EVAL_SPLIT_KEY])
        thresholds = configs.from_json(
            Thresholds, exec_properties[c.THRESHOLDS_KEY], source="thresholds"
        )
        loaded = export.load_exported(serving_dir(model))
        baseline, baseline_artifact = self._baseline(input_dict, exec_properties, export)
        outcome = evaluation.evaluate_loaded(
            loaded,
            pattern,
            thresholds=thresholds,
            baseline=baseline,
            max_eval_examples=exec_properties[c.MAX_EVAL_EXAMPLES_KEY],
            batch_size=exec_properties.get(c.EVAL_BATCH_SIZE_KEY) or None,
        )
        evaluation_artifact = artifact_utils.get_single_instance(output_dict[c.EVALUATION_KEY])
        metrics_path, report_path = evaluation.write_outputs(
            outcome.document, evaluation_artifact.uri
        )
        for name, value in outcome.result.metrics.items():
            evaluation_artifact.set_float_custom_property(name, value)
        evaluation_artifact.set_int_custom_property("examples", outcome.result.examples)
        evaluation_artifact.set_int_custom_property(BLESSED, int(outcome.decision.blessed))
        blessing = artifact_utils.get_single_instance(output_dict[c.BLESSING_KEY])
        self._write_blessing(blessing, outcome, model, baseline, baseline_artifact)
        for path in (metrics_path, report_path):
            if not tf.io.gfile.exists(path):
                raise RuntimeError(f"the evaluator did not write {path}")
        _log.info(
            "%s: %s",
            "BLESSED" if outcome.decision.blessed else "NOT BLESSED",
            outcome.document["reasons"],
        )

    def _baseline(self, input_dict, exec_properties, export):
        """(evaluation.Baseline or None, the baseline Model artifact or None).

        With no baseline model yet (the first run), `initial_baseline` (a bertpipe export,
        e.g. the converted starting checkpoint of a continued pretraining) is the baseline.
        """
        found = self._configured_baseline(input_dict, exec_properties, export)
        initial = exec_properties.get(c.INITIAL_BASELINE_KEY)
        if found[0] is None and initial:
            source = f"initial baseline {initial} (the starting model)"
            return evaluation.Baseline(export.load_exported(initial), source), None
        return found

    def _configured_baseline(self, input_dict, exec_properties, export):
        """The baseline_model artifact's or the push destination's model, if any."""
        from components.pusher import versions

        artifacts = input_dict.get(c.BASELINE_MODEL_KEY) or []
        if artifacts:
            artifact = artifacts[0]
            loaded = export.load_exported(serving_dir(artifact))
            return evaluation.Baseline(loaded, "baseline_model artifact"), artifact
        base = exec_properties.get(c.BASELINE_PUSH_DESTINATION_KEY)
        if base:
            latest = versions.latest_complete_version(base)
            if latest is None:
                _log.info("no complete version under %s: no baseline (first push)", base)
                return None, None
            source = f"push destination {base} (newest complete version)"
            return evaluation.Baseline(export.load_exported(latest), source), None
        return None, None

    @staticmethod
    def _write_blessing(blessing, outcome, model, baseline, baseline_artifact) -> None:
        blessed = outcome.decision.blessed
        blessing.set_int_custom_property(BLESSED, int(blessed))
        blessing.set_string_custom_property(CURRENT_MODEL, model.uri)
        blessing.set_int_custom_property(CURRENT_MODEL_ID, model.id)
        if baseline is not None:
            blessing.set_string_custom_property(BASELINE_MODEL, baseline.loaded.export_dir)
        if baseline_artifact is not None:
            blessing.set_int_custom_property(BASELINE_MODEL_ID, baseline_artifact.id)
        message = "; ".join(outcome.decision.reasons)
        blessing.set_string_custom_property(BLESSING_MESSAGE, message)
        tf.io.gfile.makedirs(blessing.uri)
        name = BLESSED_FILE if blessed else NOT_BLESSED_FILE
        with tf.io.gfile.GFile(posixpath.join(blessing.uri, name), "w") as f:
            f.write(json.dumps({"blessed": blessed, "reasons": outcome.decision.reasons}) + "\n")
