"""VocabGen's executor: resolves the artifact and runs `builder` on the TFX Beam pipeline."""

from __future__ import annotations

import os
from typing import Any

import tensorflow as tf
from tfx import types
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils

from components import artifacts, configs
from components.corpus import Corpus
from components.vocab_gen import builder
from components.vocab_gen.config import VocabConfig
from components.vocab_gen.spec import (
    CONFIG_KEY,
    CORPUS_KEY,
    VOCAB_URI_KEY,
    VOCABULARY_KEY,
)


class Executor(base_beam_executor.BaseBeamExecutor):
    """Learns a WordPiece vocabulary from the corpus, or imports and checks one."""

    def Do(
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        config = configs.from_json(
            VocabConfig, exec_properties[CONFIG_KEY], source="VocabGen exec property 'config'"
        )
        corpus = exec_properties.get(CORPUS_KEY) or None
        if corpus is not None:
            corpus = configs.from_json(Corpus, corpus, source="VocabGen exec property 'corpus'")
        vocab_uri = exec_properties.get(VOCAB_URI_KEY) or None
        output = artifact_utils.get_single_instance(output_dict[VOCABULARY_KEY])
        # Beam's scratch files (word counts, statistics) are read back by this process, so
        # they must live where remote workers and this process both reach: beside the
        # output, under the pipeline root. TFX's `_get_tmp_dir()` is on the pod's own disk
        # under Kubeflow/Vertex (next to `/tmp/kfp_outputs/output_metadata.json`).
        run = {
            "make_pipeline": self._make_beam_pipeline,
            "work_dir": builder.default_work_dir(output.uri),
        }
        if vocab_uri:
            result = builder.import_vocabulary(vocab_uri, output.uri, config, corpus=corpus, **run)
        else:
            result = builder.learn_vocabulary(corpus, output.uri, config, **run)

        # Lineage at a glance in ML Metadata; the JSON holds the rest.
        output.set_string_custom_property("mode", result.stats["mode"])
        output.set_int_custom_property("vocab_size", result.stats["vocab_size"])
        if result.stats["coverage"] is not None:
            output.set_float_custom_property("coverage", result.stats["coverage"])
        for name in (artifacts.VOCABULARY_FILENAME, artifacts.VOCABULARY_STATS_FILENAME):
            if not tf.io.gfile.exists(os.path.join(output.uri, name)):
                raise RuntimeError(f"VocabGen wrote no {name} into {output.uri}")
