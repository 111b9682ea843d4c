"""`bertpipe compile` of the example configs equals the output saved before the rewrite.

The compile path was restructured (issue 13, "one straight compile path"); what it writes
must not change except where a fix meant it to. Each such field is listed in
`INTENDED_CHANGES` with the fix and the test that asserts its new value; everything else
is compared exactly, the Kubeflow header line included.
"""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from tests.pipelines.runners import compiled, golden

# (where, why): `where` is a path into each compiled document, `*` matching every key; the
# field is removed from the saved and the new document before they are compared.
_RESOURCES = (
    "issue 13 defect 7: every step requests CPU/memory, BERT-base defaults, the TPU Trainer "
    "too (test_kubeflow_compile.py / test_vertex_compile.py *resources*)"
)
_RETRY = (
    "no backoffMaxDuration: Argo reads it as a deadline from the first attempt, so a long "
    "Trainer was never retried (test_kubeflow_compile.py *retry*)"
)
_ENTRYPOINT = (
    "issue 13 defect 1: every step starts pipelines.runners.entrypoint, which restores the "
    "input artifact types KFP sends empty (test_entrypoint.py)"
)
_CORPUS = (
    "issues 18/19: VocabGen and MaskedLMExampleGen take one `corpus` parameter (globs + "
    "reading format) instead of corpus_pattern / corpus (tests/components/corpus)"
)
_FORMAT = "issue 17: ExampleGenConfig.format (static | sequences) (test_sequences.py)"
_RESUME = (
    "issue 13 cross-run resume: the Trainer's checkpoint_root under the pipeline root "
    "(test_run_fn.py, test_launcher.py *resume*)"
)
_STAGING = (
    "issue 13 defect 4: input staging volumes for the Trainer, evaluator and Pusher "
    "(test_kubeflow_compile.py *staged*)"
)
_ROOT = (
    "the compiled root, which submit sends when no root is given, so a run is not put under "
    "the cluster's default in another bucket than its staging volumes "
    "(test_submit_kubeflow.py *compiled_root*)"
)


def _both(where: str, why: str) -> tuple[tuple[str, str], ...]:
    """The Kubeflow path and the Vertex one (its PipelineSpec sits under pipelineSpec)."""
    return ((where, why), (f"pipelineSpec.{where}", why))


INTENDED_CHANGES: tuple[tuple[str, str], ...] = (
    *_both("deploymentSpec.executors.*.container.resources", _RESOURCES),
    *_both("root.dag.tasks.Trainer.retryPolicy.backoffMaxDuration", _RETRY),
    *_both("deploymentSpec.executors.*.container.command", _ENTRYPOINT),
    *_both("components.VocabGen.inputDefinitions.parameters", _CORPUS),
    # The inputs spec JSON in VocabGen's arguments names its parameters.
    *_both("deploymentSpec.executors.VocabGen_executor.container.args", _CORPUS),
    *_both("root.dag.tasks.VocabGen.inputs.parameters", _CORPUS),
    *_both("root.dag.tasks.MaskedLMExampleGen.inputs.parameters.corpus", _CORPUS),
    *_both("root.dag.tasks.MaskedLMExampleGen.inputs.parameters.config", _FORMAT),
    *_both("root.dag.tasks.Trainer.inputs.parameters.custom_config", _RESUME),
)
# Fields the saved output never had (test_intended_additions_each_name_a_new_field).
INTENDED_ADDITIONS: tuple[tuple[str, str], ...] = (
    ("platforms.kubernetes.deploymentSpec.executors.*.genericEphemeralVolume", _STAGING),
    ("defaultPipelineRoot", _ROOT),
)


def _remove(document, path: list[str]) -> None:
    if not path or not isinstance(document, dict):
        return
    head, rest = path[0], path[1:]
    keys = list(document) if head == "*" else [head]
    for key in keys:
        if key not in document:
            continue
        if rest:
            _remove(document[key], rest)
        else:
            del document[key]


def _read(path: str) -> tuple[str, list]:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        return "", [json.loads(text)]
    header = "".join(line for line in text.splitlines(True) if line.startswith("#"))
    return header, list(yaml.safe_load_all(text))


def _without_intended(documents: list) -> list:
    documents = copy.deepcopy(documents)
    for document in documents:
        for where, _ in INTENDED_CHANGES + INTENDED_ADDITIONS:
            _remove(document, where.split("."))
    # An executor (or the whole platform document) that held only staging volumes (_STAGING).
    for document in documents[1:]:
        executors = document["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
        for label in [label for label, executor in executors.items() if not executor]:
            del executors[label]
    return list(documents[:1]) + [
        d for d in documents[1:] if d["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    ]


@pytest.mark.parametrize("case", golden.CASES, ids=lambda case: case.name)
def test_compiled_example_matches_saved_output_apart_from_intended_fixes(case, tmp_path):
    output = str(tmp_path / case.name)
    result = compiled.bertpipe(*case.args(output))
    assert result.code == 0, result.err

    saved_header, saved = _read(str(case.golden))
    header, documents = _read(output)

    assert header == saved_header
    assert _without_intended(documents) == _without_intended(saved)


def test_intended_changes_each_name_a_field_the_saved_output_has():
    # A listed change that matches nothing would hide nothing and say something false.
    for where, why in INTENDED_CHANGES:
        found = False
        for case in golden.CASES:
            _, saved = _read(str(case.golden))
            single = copy.deepcopy(saved)
            for document in single:
                _remove(document, where.split("."))
            found = found or single != saved
        assert found, f"{where} ({why}) is in no saved compiled file"


def test_intended_additions_each_name_a_new_field(tmp_path):
    case = golden.CASES[0]
    output = str(tmp_path / case.name)
    assert compiled.bertpipe(*case.args(output)).code == 0
    _, documents = _read(output)
    for where, why in INTENDED_ADDITIONS:
        single = copy.deepcopy(documents)
        for document in single:
            _remove(document, where.split("."))
        assert single != documents, f"{where} ({why}) is in no compiled file"
