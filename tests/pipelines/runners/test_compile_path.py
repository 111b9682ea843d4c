"""The one compile path (issue 13): a pipeline factory that knows no target, validation
once at the command boundary, and no hidden import cycles."""

import ast
import inspect

from pipelines import pipeline as pipeline_lib
from tests.conftest import REPO_ROOT
from tests.pipelines.runners import compiled

COMPILE_PATH = [
    "pipelines/pipeline.py",
    "pipelines/runners/cloud.py",
    "pipelines/runners/kfp_v2.py",
    "pipelines/runners/kubeflow.py",
    "pipelines/runners/vertex.py",
]


def test_create_pipeline_takes_pieces_not_a_target():
    parameters = inspect.signature(pipeline_lib.create_pipeline).parameters
    assert list(parameters) == [
        "config",
        "beam_pipeline_args",
        "trainer",
        "baseline",
        "metadata_connection_config",
    ]
    tree = ast.parse((REPO_ROOT / "pipelines" / "pipeline.py").read_text())
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {n.arg for n in ast.walk(tree) if isinstance(n, ast.arg)}
    modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {"target", "Target", "TARGETS"} & names
    assert not [m for m in modules if m and m.startswith("pipelines.runners")]


def test_compile_path_imports_our_modules_only_at_module_level():
    for name in COMPILE_PATH:
        tree = ast.parse((REPO_ROOT / name).read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom) and node.module:
                    top = node.module.split(".")[0]
                    assert top not in ("pipelines", "components"), (
                        f"{name}:{node.lineno} imports {node.module} inside {function.name}"
                    )


def test_top_level_beam_args_are_refused_for_cloud_targets(tmp_path):
    for target, suffix in (("kubeflow", "yaml"), ("vertex", "json")):
        output = tmp_path / f"p.{suffix}"
        result = compiled.bertpipe(
            "compile",
            "--target",
            target,
            "--config",
            compiled.KUBEFLOW_CONFIG,
            "--output",
            str(output),
            "--set",
            "beam_pipeline_args=[--direct_num_workers=2]",
            "--set",
            "deployment.vertex.project=my-project",
        )
        assert result.code == 2 and not output.exists()
        assert result.err == (
            "bertpipe: error: beam_pipeline_args ['--direct_num_workers=2'] apply to `bertpipe "
            f"run` on this machine only; {target} steps take their Beam options from "
            "deployment.beam (runner, direct_num_workers, dataflow). Move them there, or set "
            "beam_pipeline_args: [] for this config.\n"
        )
