"""The compiled example configs saved before the compile path was rewritten (issue 13).

`CASES` are the example configs of `pipelines/configs/` compiled for both targets with
`bertpipe compile`; `tests/pipelines/testdata/compiled/` holds what the code before the
rewrite (commit 9d33985) produced for each. `test_compile_golden.py` compiles them again
and compares, apart from the fields in `INTENDED_CHANGES`, each naming the fix that changed
it (and the test that asserts its new value).

Regenerate (only when a compile change is intended, and add it to `INTENDED_CHANGES`):

    PYTHONPATH=. python -m tests.pipelines.runners.golden
"""

from __future__ import annotations

import dataclasses
import pathlib

from tests.conftest import REPO_ROOT

GOLDEN_DIR = REPO_ROOT / "tests" / "pipelines" / "testdata" / "compiled"
EXAMPLES = REPO_ROOT / "pipelines" / "configs"


@dataclasses.dataclass(frozen=True)
class Case:
    """One `bertpipe compile` of an example config.

    Attributes:
      config: file name under pipelines/configs/.
      target: `kubeflow` or `vertex`.
      overrides: `--set` values (e.g. what makes the config valid for the other target).
      variant: a word naming what `overrides` change, part of the file name.
    """

    config: str
    target: str
    overrides: tuple[str, ...] = ()
    variant: str = ""

    @property
    def name(self) -> str:
        suffix = ".yaml" if self.target == "kubeflow" else ".json"
        variant = f".{self.variant}" if self.variant else ""
        return f"{self.config.removesuffix('.yaml')}.{self.target}{variant}{suffix}"

    @property
    def golden(self) -> pathlib.Path:
        return GOLDEN_DIR / self.name

    def args(self, output: str) -> list[str]:
        sets = [a for o in self.overrides for a in ("--set", o)]
        config = str(EXAMPLES / self.config)
        return ["compile", "--target", self.target, "--config", config, "--output", output, *sets]


CASES = (
    Case("kubeflow-gke-tpu.yaml", "kubeflow"),
    # A Vertex run needs a project; the TPU Trainer becomes a Vertex CustomJob.
    Case("kubeflow-gke-tpu.yaml", "vertex", ("deployment.vertex.project=my-project",)),
    Case("vertex-tpu.yaml", "vertex"),
    # The open-source KFP backend runs no Resolver node: the serving-model baseline.
    Case("vertex-tpu.yaml", "kubeflow", ("evaluation.baseline=serving",)),
    # Without a TPU: every step on CPU (the standard Trainer on Vertex).
    Case("kubeflow-gke-tpu.yaml", "kubeflow", ("deployment.tpu=null",), "cpu"),
    Case("vertex-tpu.yaml", "vertex", ("deployment.tpu=null",), "cpu"),
)


def main() -> None:
    from tests.pipelines.runners import compiled

    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    names = [case.name for case in CASES]
    assert len(set(names)) == len(names), names
    for case in CASES:
        result = compiled.bertpipe(*case.args(str(case.golden)))
        assert result.code == 0, result.err
        print(case.golden)


if __name__ == "__main__":
    main()
