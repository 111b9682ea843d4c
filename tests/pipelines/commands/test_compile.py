"""`bertpipe compile` refuses a config that cannot run on the target, in one line, writing nothing.

What a successful compile writes is tested in tests/pipelines/runners/test_kubeflow_compile.py
and test_vertex_compile.py (the example configs) and test_launcher.py (every step run).
"""

import os
import re

import pytest

from tests.pipelines.runners.compiled import KUBEFLOW_CONFIG, VERTEX_CONFIG, bertpipe

KUBEFLOW = ("kubeflow", KUBEFLOW_CONFIG, "pipeline.yaml")
VERTEX = ("vertex", VERTEX_CONFIG, "pipeline.json")


@pytest.mark.parametrize(
    "target,overrides,message",
    [
        (
            KUBEFLOW,
            ["corpus=[sample:moby-dick]"],
            r"corpus entry 'sample:moby-dick' is a sample corpus on this machine, which "
            r"kubeflow steps cannot read\. Upload it .*`bertpipe corpus fetch moby-dick`",
        ),
        (
            VERTEX,
            ["corpus=[/data/corpus/*.txt]"],
            r"corpus entry '/data/corpus/\*\.txt' is on this machine's disk; vertex steps run "
            r"on other machines .* use a gs:// path",
        ),
        (
            KUBEFLOW,
            ["pipeline_root=minio://mlpipeline/root"],
            r"pipeline root 'minio://mlpipeline/root' cannot be used for kubeflow: .*minio://",
        ),
        (VERTEX, ["push_destination=/srv/models"], r"push_destination '/srv/models' is on"),
        (
            KUBEFLOW,
            ["vocabulary.import_uri=/srv/vocab.txt"],
            r"vocabulary.import_uri '/srv/vocab.txt' is on this machine's disk",
        ),
        (
            KUBEFLOW,
            ["training.checkpoint_dir=s3://b/ckpt"],
            r"training.checkpoint_dir 's3://b/ckpt' uses s3://, which the steps' TensorFlow",
        ),
        (
            KUBEFLOW,
            ["evaluation.baseline=latest_blessed"],
            r"latest_blessed needs a TFX Resolver node, which the open-source Kubeflow",
        ),
        (VERTEX, ["deployment.tpu_evaluator=true"], r"tpu_evaluator is Kubeflow-only"),
        (VERTEX, ["deployment.vertex.project="], r"vertex.project is empty"),
        (
            KUBEFLOW,
            ["deployment.images.default=bertpipe:0.1.0"],
            r"images.default 'bertpipe:0.1.0' names no registry, so kubeflow cannot pull it",
        ),
        (
            KUBEFLOW,
            ["deployment.tpu.topology=4x4"],
            r"topology '4x4' for tpu-v5-lite-podslice \(v5e\) is a multi-host slice",
        ),
    ],
)
def test_config_that_cannot_run_on_the_target_is_refused(tmp_path, target, overrides, message):
    name, config, filename = target
    output = tmp_path / filename
    sets = [a for o in overrides for a in ("--set", o)]
    result = bertpipe(
        "compile", "--target", name, "--config", config, "--output", str(output), *sets
    )
    assert result.code == 2 and result.out == ""
    (line,) = result.err.splitlines()
    assert line.startswith("bertpipe: error: ")
    assert re.search(message, line), line
    assert not output.exists()


@pytest.mark.parametrize(
    "target,output,message",
    [
        ("kubeflow", "pipeline.json", r"--output '.*pipeline.json' must end in .yaml or .yml"),
        ("vertex", "pipeline.yaml", r"--output '.*pipeline.yaml' must end in .json"),
    ],
)
def test_output_suffix_must_fit_the_target(tmp_path, target, output, message):
    config = KUBEFLOW_CONFIG if target == "kubeflow" else VERTEX_CONFIG
    path = str(tmp_path / output)
    result = bertpipe("compile", "--target", target, "--config", config, "--output", path)
    assert result.code == 2
    assert re.search(message, result.err), result.err
    assert not os.path.exists(path)
