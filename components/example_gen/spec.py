"""MaskedLMExampleGen's component spec and the keys that component, executor and tests share.

The executor imports this module, not `component.py`, so the two never import each other.
"""

from tfx.types import component_spec, standard_artifacts

from components.artifacts import Vocabulary
from components.corpus.config import CORPUS_KEY

# Exec properties.
# CORPUS_KEY: a components.corpus.Corpus as JSON, the same parameter as VocabGen's.
VOCAB_KEY = "vocab"  # Instead of the `vocabulary` input: a vocab.txt path or bundled name.
CONFIG_KEY = "config"  # ExampleGenConfig as JSON.
# Input.
VOCABULARY_KEY = "vocabulary"  # A Vocabulary artifact (a directory holding vocab.txt).
# Output.
EXAMPLES_KEY = "examples"


class MaskedLMExampleGenSpec(component_spec.ComponentSpec):
    """Parameters, inputs and outputs of MaskedLMExampleGen."""

    PARAMETERS = {
        CORPUS_KEY: component_spec.ExecutionParameter(type=str),
        VOCAB_KEY: component_spec.ExecutionParameter(type=str, optional=True),
        CONFIG_KEY: component_spec.ExecutionParameter(type=str),
    }
    INPUTS = {
        VOCABULARY_KEY: component_spec.ChannelParameter(type=Vocabulary, optional=True),
    }
    OUTPUTS = {
        EXAMPLES_KEY: component_spec.ChannelParameter(type=standard_artifacts.Examples),
    }
