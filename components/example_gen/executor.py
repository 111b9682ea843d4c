"""Executor of MaskedLMExampleGen: resolves the artifacts and runs the Beam job."""

from __future__ import annotations

from typing import Any

from tfx.components.util import examples_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.proto import example_gen_pb2
from tfx.types import artifact, artifact_utils

from components import configs
from components.corpus import Corpus
from components.errors import BertpipeError
from components.example_gen import layout
from components.example_gen.config import ExampleGenConfig
from components.example_gen.run import run_example_gen
from components.example_gen.spec import (
    CONFIG_KEY,
    CORPUS_KEY,
    EXAMPLES_KEY,
    VOCAB_KEY,
    VOCABULARY_KEY,
)


class Executor(base_beam_executor.BaseBeamExecutor):
    """Writes the `examples` artifact: Split-train/, Split-eval/, vocab.txt, config, stats."""

    def Do(
        self,
        input_dict: dict[str, list[artifact.Artifact]],
        output_dict: dict[str, list[artifact.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        self._log_startup(input_dict, output_dict, exec_properties)
        config = configs.from_json(
            ExampleGenConfig, exec_properties[CONFIG_KEY], source="MaskedLMExampleGen config"
        )
        corpus = configs.from_json(
            Corpus, exec_properties[CORPUS_KEY], source="MaskedLMExampleGen corpus"
        )
        vocab = _vocabulary_ref(input_dict, exec_properties)
        examples = artifact_utils.get_single_instance(output_dict[EXAMPLES_KEY])
        summary = run_example_gen(corpus, vocab, config, examples.uri, self._make_beam_pipeline)
        examples.split_names = artifact_utils.encode_split_names(list(layout.SPLIT_NAMES))
        examples_utils.set_payload_format(examples, example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE)
        if config.gzip:
            examples_utils.set_file_format(examples, "tfrecords_gzip")
        for split in layout.SPLIT_NAMES:
            examples.set_int_custom_property(
                f"{split}_instances", summary.stats[split]["instances"]
            )
        layout.check_outputs(examples.uri)


def _vocabulary_ref(input_dict: dict[str, list[artifact.Artifact]], exec_properties) -> str:
    artifacts = input_dict.get(VOCABULARY_KEY) or []
    vocab = exec_properties.get(VOCAB_KEY)
    if artifacts and vocab:
        raise BertpipeError("MaskedLMExampleGen got both a vocabulary artifact and `vocab`.")
    if artifacts:
        return artifact_utils.get_single_uri(artifacts)
    if not vocab:
        raise BertpipeError("MaskedLMExampleGen got neither a vocabulary artifact nor `vocab`.")
    return vocab
