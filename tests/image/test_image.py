"""The built image, run for real: its checks and every compiled Kubeflow step, as UID 1000.

Runs only under `make image-check`, which builds the image from the Dockerfile with
buildah (scripts/image/build.sh) and names it in BERTPIPE_IMAGE; elsewhere it is skipped.
Each step gets a fresh container of the image (as each pod does), the step's compiled
command verbatim (`python` is whatever the image's PATH finds), the user the pods run as,
and no PYTHONPATH: the code that runs is the code installed in the image.
"""

import json
import os
import pathlib

import pytest

from tests.image import buildah
from tests.pipelines.runners import compiled
from tests.pipelines.runners.launcher import PLACEHOLDER, LocalLauncher, StepFailed

IMAGE = buildah.available()
pytestmark = [
    pytest.mark.image,
    pytest.mark.skipif(IMAGE is None, reason="runs under `make image-check` (BERTPIPE_IMAGE)"),
]
UID = 1000
# Keeps google-auth off the network in the steps, as tests/conftest.py does for this process.
QUIET = {k: os.environ[k] for k in ("GCE_METADATA_IP", "GCE_METADATA_HOST") if k in os.environ}


@pytest.fixture(scope="module")
def image():
    return buildah.Image(IMAGE)


class ImageLauncher(LocalLauncher):
    """LocalLauncher whose steps run in the image as UID 1000 instead of in this venv."""

    def __init__(self, spec, workdir, image, mounts, **kwargs):
        super().__init__(spec, workdir, **kwargs)
        self.image, self.mounts = image, tuple(str(m) for m in mounts)

    def run_task(self, task):
        executor = self.executor(task)
        if "resolver" in executor:
            return super().run_task(task)
        executor_input = self.executor_input(task)
        container = executor["container"]
        args = [json.dumps(executor_input) if a == PLACEHOLDER else a for a in container["args"]]
        env = {e["name"]: e["value"] for e in container.get("env", [])}
        result = self.image.run(
            [*container["command"], *args],
            mounts=self.mounts,
            env={**env, **QUIET},
            timeout=self.timeout,
        )
        if result.returncode != 0:
            raise StepFailed(f"step {task} exited {result.returncode}:\n{result.stderr[-4000:]}")
        with open(executor_input["outputs"]["outputFile"]) as f:
            self.outputs[task] = json.load(f)
        return self.outputs[task]


def _give_to_uid(*directories):
    for directory in directories:
        for root, dirs, files in os.walk(directory):
            for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
                os.chown(name, UID, UID)


def test_image_runs_as_uid_1000_with_the_venv_python_first(image):
    config = image.inspect()["config"]
    assert config["User"] == f"{UID}:{UID}"
    env = dict(e.split("=", 1) for e in config["Env"])
    assert env["PATH"].startswith("/opt/venv/bin:")
    assert env["RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT"] == "1"
    result = image.run(["sh", "-c", 'id -u; id -g; command -v python; echo "$HOME"'])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1000", "1000", "/opt/venv/bin/python", "/home/bertpipe"]


def test_check_image_passes_inside_the_image_for_steps_and_dataflow_workers(image):
    scripts = str(compiled.REPO_ROOT / "scripts")
    result = image.run(
        ["python", f"{scripts}/check_image.py", "--variant", "cpu", "--dataflow"],
        mounts=(scripts,),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "check_image: cpu image OK (tensorflow 2.16.2)",
        "check_image: Dataflow worker side OK (apache-beam 2.59.0; "
        "/opt/apache/beam/boot: not in this build)",
    ]


@pytest.mark.slow
def test_kubeflow_steps_run_inside_the_image_as_uid_1000(tmp_path):
    from tests.pipelines.runners.test_launcher import STEPS, check_outputs

    output = str(tmp_path / "pipeline.yaml")
    compiled.compile_config(
        "kubeflow",
        compiled.write_tiny_config(compiled.KUBEFLOW_CONFIG, tmp_path),
        output,
    )
    spec, _ = compiled.documents(output)
    bucket, substitutions = compiled.local_bucket(tmp_path)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    _give_to_uid(bucket, run_dir)
    # pytest's base temp directory is 0700 root; the mounts are what the steps may touch.
    launcher = ImageLauncher(
        spec,
        run_dir,
        buildah.Image(IMAGE),
        mounts=(bucket, run_dir),
        substitutions=substitutions,
    )
    assert launcher.order() == STEPS
    outputs = launcher.run_all()
    check_outputs(outputs, bucket)
    # Every file the steps wrote belongs to the pods' user.
    written = list(pathlib.Path(run_dir).rglob("*")) + list(
        pathlib.Path(bucket, "serving").rglob("*")
    )
    assert written and {p.stat().st_uid for p in written} == {UID}
