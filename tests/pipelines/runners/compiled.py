"""The example configs compiled with `bertpipe compile`, and a tiny config whose steps run here.

`bertpipe(...)` runs the real command line in this process (the TensorFlow/TFX imports are
paid once per test session) and returns its exit status and output. `tiny_config(example)`
keeps an example config's deployment sections (images, TPU, resources, Vertex) and shrinks
the job to the hand-written corpus the end-to-end tests use: every location stays gs://
under `BUCKET`, as `bertpipe compile` requires, and `LocalLauncher`'s substitutions map
`BUCKET` to a local directory when the steps run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os

import yaml

from components import configs
from tests.conftest import REPO_ROOT
from tests.pipelines import tiny_job

EXAMPLES = REPO_ROOT / "pipelines" / "configs"
KUBEFLOW_CONFIG = str(EXAMPLES / "kubeflow-gke-tpu.yaml")
VERTEX_CONFIG = str(EXAMPLES / "vertex-tpu.yaml")
CORPUS = REPO_ROOT / "tests" / "pipelines" / "testdata" / "harbour.txt"
BUCKET = "gs://bertpipe-offline"
# What the Trainer's compiled experiment says on a TPU, and what this machine can run
# instead (the default strategy on the CPU); bfloat16 stays: it runs on a CPU as well.
TPU_STRATEGY = '"distribution_strategy": "tpu"'
CPU_STRATEGY = '"distribution_strategy": "default"'


@dataclasses.dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def bertpipe(*args: str) -> Result:
    """Runs `bertpipe ARGS` in this process; returns its exit status, stdout and stderr."""
    from pipelines import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(list(args))
        except SystemExit as e:  # argparse errors
            code = e.code
    return Result(code, out.getvalue(), err.getvalue())


def compile_config(target: str, config: str, output: str, *overrides: str) -> Result:
    """`bertpipe compile --target T --config C --output O [--set ...]`; asserts success."""
    sets = [a for o in overrides for a in ("--set", o)]
    result = bertpipe("compile", "--target", target, "--config", config, "--output", output, *sets)
    assert result.code == 0, result.err
    return result


def documents(path: str) -> list[dict]:
    """The YAML documents (Kubeflow) or the one JSON object (Vertex) of a compiled file."""
    with open(path) as f:
        if path.endswith(".json"):
            return [json.load(f)]
        return list(yaml.safe_load_all(f))


def custom_config(pipeline_spec: dict, task: str = "Trainer") -> dict:
    """A task's compiled `custom_config` exec property, decoded."""
    parameters = pipeline_spec["root"]["dag"]["tasks"][task]["inputs"]["parameters"]
    return json.loads(parameters["custom_config"]["runtimeValue"]["constant"])


def tiny_config(example: str) -> dict:
    """`example`'s deployment with a job small enough to run every step here in minutes."""
    data = configs.load_file(example)
    job = tiny_job.sections()
    data.update(
        pipeline_root=f"{BUCKET}/root",
        corpus=[f"{BUCKET}/corpus/*.txt"],
        vocabulary=job["vocabulary"],
        examples=job["examples"],
        training=job["training"],
        push_destination=f"{BUCKET}/serving",
    )
    data["evaluation"] = {"baseline": data["evaluation"]["baseline"], **job["evaluation"]}
    # No Dataflow here: the data steps run Beam inside their own process, as in a pod.
    data["deployment"]["beam"] = {
        "runner": "DirectRunner",
        "direct_running_mode": "in_memory",
        "direct_num_workers": 1,
    }
    return data


def write_tiny_config(example: str, directory) -> str:
    path = os.path.join(str(directory), "tiny-" + os.path.basename(example))
    with open(path, "w") as f:
        yaml.safe_dump(tiny_config(example), f, sort_keys=False)
    return path


def local_bucket(directory) -> tuple[str, list[tuple[str, str]]]:
    """A local stand-in for `BUCKET` holding the corpus; the launcher substitutions."""
    bucket = os.path.join(str(directory), "bucket")
    os.makedirs(os.path.join(bucket, "corpus"), exist_ok=True)
    with open(CORPUS) as src, open(os.path.join(bucket, "corpus", "harbour.txt"), "w") as dst:
        dst.write(src.read())
    return bucket, [(BUCKET, bucket), (TPU_STRATEGY, CPU_STRATEGY)]
