"""The built image, run for real: its checks and every compiled Kubeflow step, as UID 1000.

Runs only under `make image-check`, which builds the image from the Dockerfile with
buildah (scripts/image/build.sh) and names it in BERTPIPE_IMAGE; elsewhere it is skipped.
The Kubeflow steps go through the faithful KFP launcher stand-in
(tests/pipelines/runners/launcher.py: ExecutorInput, /gcs-style volumes, input download
and output upload as KFP 2.5.0 does them) with `start=start_in_image(...)`: each step gets
a fresh container of the image (as each pod does), its compiled command verbatim
(`python` is whatever the image's PATH finds), the user the pods run as, and no
PYTHONPATH: the code that runs is the code installed in the image.
"""

import os
import pathlib

import pytest

from tests.image import buildah
from tests.pipelines.runners import compiled
from tests.pipelines.runners.launcher import KUBEFLOW

IMAGE = buildah.available()
pytestmark = [
    pytest.mark.image,
    pytest.mark.skipif(IMAGE is None, reason="runs under `make image-check` (BERTPIPE_IMAGE)"),
]
UID = 1000
# The steps with an input-staging volume (deployment.kubeflow.input_staging defaults),
# mounted at /gcs/<the pipeline root's bucket>.
STAGED = ("Trainer", "MaskedLMEvaluator", "Pusher")
ROOT_BUCKET = compiled.BUCKET.removeprefix("gs://")


@pytest.fixture(scope="module")
def image():
    return buildah.Image(IMAGE)


def _pins(path):
    pins = {}
    for line in pathlib.Path(path).read_text().splitlines():
        name, sep, version = line.split("#")[0].strip().partition("==")
        if sep:
            pins[_normal(name.split("[")[0])] = version.strip()
    return pins


def _normal(name):
    return name.lower().replace("_", "-").replace(".", "-")


def test_image_runs_as_uid_1000_with_the_venv_python_first(image):
    config = image.inspect()["config"]
    assert config["User"] == f"{UID}:{UID}"
    env = dict(e.split("=", 1) for e in config["Env"])
    assert env["PATH"].startswith("/opt/venv/bin:")
    assert env["RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT"] == "1"
    result = image.run(["sh", "-c", 'id -u; id -g; command -v python; echo "$HOME"'])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1000", "1000", "/opt/venv/bin/python", "/home/bertpipe"]


def test_image_holds_exactly_the_pinned_versions_and_pip_check_passes(image):
    result = image.run(["sh", "-c", "python -m pip freeze && python -m pip check"])
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "No broken requirements found."
    frozen = dict(line.split("==", 1) for line in lines[:-1] if "==" in line)
    others = [line for line in lines[:-1] if "==" not in line]
    assert [line.split(" @ ")[0] for line in others] == ["bertpipe"], others
    pins = _pins(compiled.REPO_ROOT / "constraints.txt")
    unpinned = {k: v for k, v in frozen.items() if pins.get(_normal(k)) != v}
    assert not unpinned, f"installed in the image but not at constraints.txt's pin: {unpinned}"
    assert _normal("tfx") in map(_normal, frozen) and len(frozen) > 200


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
def test_kubeflow_steps_run_inside_the_image_as_uid_1000(tmp_path, image):
    from tests.pipelines.runners.test_launcher import (
        STEPS,
        check_outputs,
        compile_tiny,
        launcher_for,
    )

    (spec, platform), _ = compile_tiny(tmp_path, KUBEFLOW)
    # The local stand-in for the bucket (launcher_for makes it there), bound into each
    # step's container at the same path, as the steps' service account reaches GCS.
    bucket = str(tmp_path / "bucket")
    start = buildah.start_in_image(image, shared=(bucket,))
    launcher, bucket = launcher_for(spec, tmp_path, KUBEFLOW, platform_spec=platform, start=start)
    assert launcher.order() == STEPS
    launcher.run_all()
    assert launcher.pod_scratch == {step: [] for step in STEPS}
    check_outputs(launcher, bucket)
    # What the launcher and the steps wrote (in the /gcs emptyDir, on the staging volumes,
    # and the pushed model) belongs to the pods' user. Not the volume roots (the kubelet's)
    # nor the mount point the runtime makes for the staging volume inside /gcs (root's).
    pods = tmp_path / "pods" / launcher.run_id
    mount_points = {pods / step / "gcs" / ROOT_BUCKET for step in STAGED}
    written = [
        path
        for step in STEPS
        for volume in [pods / step / "gcs", *(pods / step).glob("volume-*")]
        for path in volume.rglob("*")
        if path not in mount_points
    ]
    written += list(pathlib.Path(bucket, "serving").rglob("*"))
    assert written and {p.stat().st_uid for p in written} == {UID}
    assert any("volume-" in str(p) for p in written)
    # The staging volume's root: a fresh filesystem's root:root 0755, given to the run's
    # fsGroup by the kubelet (kubernetes/kfp/install sets fsGroup 1000).
    for step in STAGED:
        (root,) = (pods / step).glob("volume-*")
        info = root.stat()
        assert (info.st_uid, info.st_gid, oct(info.st_mode & 0o7777)) == (0, UID, "0o2775")


@pytest.mark.slow
def test_beam_workers_in_the_image_write_the_examples_the_in_process_run_writes(tmp_path, image):
    """The Dataflow worker side: bertpipe's example-generation transforms, run by a portable
    runner whose SDK workers are the image's Beam harness (apache-beam 2.59.0 from
    /opt/venv, started as boot starts it, as UID 1000), write exactly the records an
    in-process DirectRunner run writes. Only boot itself is missing (not in this build)."""
    from components import vocabulary
    from components.example_gen import layout
    from tests.components.example_gen.helpers import WHALES, run_whales, split_records

    tokens = vocabulary.load_vocab("bert-base-uncased")
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    os.chown(outputs, UID, UID)  # the workers' bucket: writable by them, as GCS is

    run_whales(tmp_path / "direct", tokens)
    harness = buildah.sdk_harness_command(image, mounts=(os.path.dirname(WHALES), str(outputs)))
    run_whales(
        outputs / "portable",
        tokens,
        args=[
            "--runner=PortableRunner",
            "--job_endpoint=embed",
            "--environment_type=beam:env:harness_subprocess_python:v1",
            f"--environment_config={harness}",
        ],
    )
    for split in ("train", "eval"):
        written = layout.data_files(str(outputs / "portable"), split)
        assert written and {os.stat(f).st_uid for f in written} == {UID}  # by the workers
        direct = split_records(tmp_path / "direct", split)
        assert split_records(outputs / "portable", split) == direct
