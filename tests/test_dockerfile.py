"""Offline checks of the Dockerfile, .dockerignore and `make image` (no Docker engine here).

The image cannot be built on these machines, so these tests check what can be checked
without building: a pinned base, a non-root user, the same pinned install `make` runs, a
command the compiled pipeline can replace, hadolint-style hygiene, and a build context
that holds exactly what the COPY lines need.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"


def parse_dockerfile(text):
    """(instruction, argument) pairs, with continuation lines joined and comments dropped."""
    instructions, pending = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # A comment inside a continued instruction.
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, argument = full.partition(" ")
        instructions.append((keyword.upper(), argument.strip()))
    assert not pending, "Dockerfile ends inside a continued line"
    return instructions


def stages(instructions):
    """Instructions grouped by FROM: a list of (from_argument, [(keyword, argument)])."""
    out = []
    for keyword, argument in instructions:
        if keyword == "FROM":
            out.append((argument, []))
        elif out:
            out[-1][1].append((keyword, argument))
    return out


def global_args(instructions):
    args = {}
    for keyword, argument in instructions:
        if keyword == "FROM":
            break
        if keyword == "ARG":
            name, _, default = argument.partition("=")
            args[name] = default
    return args


def dockerignore_includes(patterns, path):
    """Docker's rule: the last pattern matching the path or a parent directory wins."""
    included = True
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _glob_regex(pattern.lstrip("!").rstrip("/"))
        if any(regex.fullmatch(candidate) for candidate in candidates):
            included = negate
    return included


def _glob_regex(pattern):
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


@pytest.fixture(scope="module")
def instructions():
    return parse_dockerfile(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def ignore_patterns():
    lines = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def stage(instructions, name):
    """The instructions of the stage named `name` (`FROM ... AS name`); None: the last one."""
    all_stages = stages(instructions)
    if name is None:
        return all_stages[-1][1]
    (found,) = [body for source, body in all_stages if source.endswith(f" AS {name}")]
    return found


def test_base_images_are_pinned_to_exact_releases(instructions):
    args = global_args(instructions)
    sources = [s.split(" AS ")[0].strip() for s, _ in stages(instructions)]
    assert sources == ["${BEAM_SDK_IMAGE}", "${PYTHON_IMAGE}", "${PYTHON_IMAGE}", "runtime"]
    base = args["PYTHON_IMAGE"]
    pinned = re.fullmatch(r"python:3\.10\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", base)
    assert pinned, f"base image {base!r} is not an exact python 3.10.x bookworm tag/digest"


def test_beam_boot_comes_from_the_sdk_image_of_the_pinned_beam_and_python(instructions):
    beam = _pins(REPO_ROOT / "constraints.txt")["apache-beam"]
    assert global_args(instructions)["BEAM_SDK_IMAGE"] == f"apache/beam_python3.10_sdk:{beam}"


def test_build_is_multi_stage_and_ships_only_the_venv_and_beams_boot(instructions):
    names = [s.partition(" AS ")[2] for s, _ in stages(instructions)]
    assert names == ["beam_sdk", "builder", "runtime", ""]
    assert stage(instructions, "beam_sdk") == []  # Only read from, never built on.
    runtime, final = stage(instructions, "runtime"), stage(instructions, None)
    assert [a for k, a in runtime if k == "COPY"] == ["--from=builder /opt/venv /opt/venv"]
    assert [a for k, a in final if k == "COPY"] == [
        "--from=beam_sdk /opt/apache/beam /opt/apache/beam"
    ]
    for body in (runtime, final):
        assert not [a for k, a in body if k == "RUN" and "apt-get" in a], "no compilers"


def test_final_user_is_a_numeric_non_root_uid_created_in_the_image(instructions):
    runtime = stage(instructions, "runtime")
    users = [a for k, a in runtime if k == "USER"]
    assert users, "the runtime stage must set USER"
    assert not [a for k, a in stage(instructions, None) if k == "USER"], "kept in the final"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) > 0 and gid.isdigit() and int(gid) > 0
    created = " ".join(a for k, a in runtime if k == "RUN")
    assert f"--uid {uid}" in created and f"--gid {gid}" in created
    # Where the KFP v2 launcher, running as this user, stages artifacts.
    assert f"install -d -o {uid} -g {gid} -m 0755 /gcs /minio /s3" in created


def test_offline_wheelhouse_arguments_have_no_default(instructions):
    # Unset unless scripts/image/build.sh passes them: users' builds read PyPI.
    args = [a for k, a in stage(instructions, "builder") if k == "ARG"]
    assert "PIP_NO_INDEX" in args and "PIP_FIND_LINKS" in args


def test_image_installs_with_the_same_pinned_command_as_make(instructions):
    runs = [a for k, a in instructions if k == "RUN"]
    install = [" ".join(r.split()) for r in runs if "scripts/install_pinned.sh" in r]
    assert len(install) == 1
    assert install[0].startswith(
        "python scripts/install_requires.py setup.py >/tmp/requirements.txt "
        "&& scripts/install_pinned.sh /opt/venv/bin/python --no-cache-dir "
        "-r /tmp/requirements.txt && rm /tmp/requirements.txt && "
    )
    setup = (REPO_ROOT / "scripts" / "setup_venv.sh").read_text()
    assert "scripts/install_pinned.sh \"$VENV/bin/python\" -e '.[dev]'" in setup
    assert "pip install" not in setup.replace("pip install --quiet --upgrade pip", "")
    script = (REPO_ROOT / "scripts" / "install_pinned.sh").read_text()
    assert '"$python" -m pip install --quiet -c constraints.txt "$@"' in script
    assert '"$python" -m pip check' in script


def test_dependencies_install_before_the_source_is_copied(instructions):
    builder = stage(instructions, "builder")
    deps = next(i for i, (k, a) in enumerate(builder) if k == "RUN" and "install_pinned" in a)
    copies = [(i, shlex.split(a)[:-1]) for i, (k, a) in enumerate(builder) if k == "COPY"]
    assert copies[:2] == [
        (deps - 2, ["constraints.txt", "requirements-tpu.txt", "setup.py"]),
        (deps - 1, ["scripts/install_requires.py", "scripts/install_pinned.sh"]),
    ], "only what decides the dependency set comes before their install"
    assert "requirements-tpu.txt" in builder[deps][1], "the TPU build is a dependency too"
    assert copies[2:] == [(deps + 1, ["."])]
    rest = [" ".join(a.split()) for k, a in builder[deps + 2 :] if k == "RUN"]
    assert rest == [
        "python -m pip install --no-cache-dir --no-deps . && python -m pip check "
        '&& python scripts/check_image.py --variant "$TF_VARIANT"'
    ]


def test_install_requires_script_prints_what_setuptools_reads_from_setup_py():
    seen = subprocess.run(
        [
            sys.executable,
            "-c",
            "import runpy, setuptools; "
            "setuptools.setup = lambda **kw: print('\\n'.join(kw['install_requires'])); "
            "runpy.run_path('setup.py')",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    script = REPO_ROOT / "scripts" / "install_requires.py"
    printed = subprocess.run(
        [sys.executable, str(script), str(REPO_ROOT / "setup.py")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert printed == seen and "tfx==1.16.0" in printed


def test_build_checks_the_image_can_run_a_step(instructions):
    runs = [a for k, a in stage(instructions, "builder") if k == "RUN"]
    assert runs[-1].endswith('&& python scripts/check_image.py --variant "$TF_VARIANT"')


def test_entrypoint_is_beams_boot_so_dataflow_workers_start(instructions):
    final = stage(instructions, None)
    entrypoints = [json.loads(a) for k, a in final if k == "ENTRYPOINT"]
    assert entrypoints == [["/opt/apache/beam/boot"]], "exec form, Beam's boot, final stage"
    assert not [a for k, a in stage(instructions, "runtime") if k == "ENTRYPOINT"]
    env = " ".join(a for k, a in stage(instructions, "runtime") if k == "ENV")
    assert "PATH=/opt/venv/bin:$PATH" in env, "`python` in the step command must be the venv's"
    # Without it boot (>= 2.44) runs the worker in a fresh venv that lacks /opt/venv's packages.
    assert "RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT=1" in env
    cmd = [a for k, a in stage(instructions, "runtime") if k == "CMD"]
    assert json.loads(cmd[-1]) == ["bertpipe", "--help"], "exec-form CMD with bertpipe"


def test_tpu_variant_installs_the_tpu_build_of_the_pinned_tensorflow(instructions):
    args = {a.partition("=")[0]: a.partition("=")[2] for k, a in instructions if k == "ARG"}
    assert args["TF_VARIANT"] == "cpu"
    assert args["LIBTPU_INDEX"].startswith("https://storage.googleapis.com/")
    tpu_run = next(a for k, a in instructions if k == "RUN" and "requirements-tpu.txt" in a)
    assert "--no-deps -r requirements-tpu.txt" in tpu_run
    assert '--find-links "$LIBTPU_INDEX"' in tpu_run and "pip check" in tpu_run
    pins = _pins(REPO_ROOT / "requirements-tpu.txt")
    assert set(pins) == {"tensorflow-tpu", "libtpu"}
    assert pins["tensorflow-tpu"] == _pins(REPO_ROOT / "constraints.txt")["tensorflow"]


def _pins(path):
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def test_hadolint_style_rules_hold(instructions):
    assert not [a for k, a in instructions if k == "ADD"], "use COPY, not ADD (DL3020)"
    assert not [a for k, a in instructions if k == "MAINTAINER"], "deprecated (DL4000)"
    runs = [a for k, a in instructions if k == "RUN"]
    for run in runs:
        assert "sudo " not in run, "no sudo (DL3004)"
        assert not re.search(r"(^|&&|;)\s*cd ", run), "use WORKDIR, not cd (DL3003)"
        if "apt-get install" in run:
            assert "--no-install-recommends" in run, "DL3015"
            assert " -y " in run, "DL3014"
            assert "rm -rf /var/lib/apt/lists/*" in run, "DL3009: clean apt lists"
            assert "apt-get update" in run, "update in the same layer (DL3009)"
        if "pip install" in run:
            assert "--no-cache-dir" in run, "DL3042"
        if "|" in run.replace("||", ""):
            shells = [json.loads(a) for k, a in instructions if k == "SHELL"]
            assert shells and "pipefail" in shells[0], "DL4006: set -o pipefail"
    for keyword, argument in instructions:
        if keyword == "WORKDIR":
            assert argument.startswith("/"), "absolute WORKDIR (DL3000)"
        if keyword == "FROM":
            assert ":latest" not in argument, "DL3007"


def test_copy_sources_exist_and_are_in_the_build_context(instructions, ignore_patterns):
    for keyword, argument in instructions:
        if keyword != "COPY" or argument.startswith("--from="):
            continue
        sources = shlex.split(argument)[:-1]
        for source in sources:
            if source == ".":
                continue  # The whole context: test_build_context_is_the_package_and_scripts.
            path = REPO_ROOT / source
            assert path.exists(), f"COPY source {source} is missing"
            files = [path] if path.is_file() else list(path.rglob("*.py"))
            for file in files:
                relative = file.relative_to(REPO_ROOT).as_posix()
                assert dockerignore_includes(ignore_patterns, relative), relative


def test_build_context_is_the_package_and_scripts(ignore_patterns):
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    context = {path for path in tracked if dockerignore_includes(ignore_patterns, path)}
    tops = {path.split("/")[0] for path in context}
    assert tops == {
        "components",
        "pipelines",
        "scripts",
        "README.md",
        "setup.py",
        "constraints.txt",
        "requirements-tpu.txt",
    }
    assert {p for p in context if p.startswith("scripts/")} == {
        "scripts/install_pinned.sh",
        "scripts/install_requires.py",
        "scripts/check_image.py",
    }
    assert "pipelines/configs/kubeflow-gke-tpu.yaml" in context  # package_data


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".git/HEAD",
        ".cache/bertpipe/corpora/brown.txt",
        "runs/local/metadata.sqlite",
        "tests/test_dockerfile.py",
        "kubernetes/base/kustomization.yaml",
        "scripts/setup_venv.sh",
        "components/__pycache__/features.cpython-310.pyc",
        "key.json",
    ],
)
def test_dockerignore_keeps_everything_else_out(ignore_patterns, path):
    assert not dockerignore_includes(ignore_patterns, path)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize(
    "target,variant,tag",
    [("image", "cpu", "bertpipe:{v}"), ("image-tpu", "tpu", "bertpipe:{v}-tpu")],
)
def test_make_image_targets_build_the_variant(target, variant, tag):
    from pipelines import __version__

    # Under `make test` the parent make's MAKELEVEL/MAKEFLAGS reach this child and make
    # it print "Entering directory"; the check is about the recipe alone.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", target],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == (
        f"docker build --platform linux/amd64 --build-arg TF_VARIANT={variant} "
        f"-t {tag.format(v=__version__)} ."
    )
