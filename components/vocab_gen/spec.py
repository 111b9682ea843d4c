"""VocabGen's component spec and the keys that component, executor and tests share."""

from tfx.types import component_spec
from tfx.types.system_executions import Process

from components.artifacts import Vocabulary
from components.corpus.config import CORPUS_KEY

# Exec properties.
# CORPUS_KEY: a components.corpus.Corpus as JSON, the same parameter as MaskedLMExampleGen's.
CONFIG_KEY = "config"  # VocabConfig as JSON.
VOCAB_URI_KEY = "vocab_uri"  # Import mode: a vocab.txt, a directory, or bert-base-uncased.
# Output.
VOCABULARY_KEY = "vocabulary"


class VocabGenSpec(component_spec.ComponentSpec):
    """VocabGen: corpus files (or a vocabulary to import) -> a Vocabulary artifact."""

    PARAMETERS = {
        CORPUS_KEY: component_spec.ExecutionParameter(type=str, optional=True),
        CONFIG_KEY: component_spec.ExecutionParameter(type=str),
        VOCAB_URI_KEY: component_spec.ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {}
    OUTPUTS = {VOCABULARY_KEY: component_spec.ChannelParameter(type=Vocabulary)}
    TYPE_ANNOTATION = Process
