"""Tests for bertpipe's custom artifact types under the Kubeflow V2 rules."""

from tfx.orchestration.kubeflow.v2 import compiler_utils
from tfx.utils import import_utils

from components import artifacts


def test_vocabulary_type_compiles_for_kubeflow_v2_and_reimports_by_title():
    schema = compiler_utils.get_artifact_schema(artifacts.Vocabulary)
    assert schema.splitlines()[0] == "title: components.Vocabulary"
    # What the V2 container entrypoint does with the schema title.
    assert import_utils.import_class_by_path("components.Vocabulary") is artifacts.Vocabulary
    assert not artifacts.Vocabulary.PROPERTIES
