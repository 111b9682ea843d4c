"""TF Model Garden (tf-models-official 2.16.0), installed into a side directory, as the
baseline of the example-generation and trainer benchmarks.

One package set serves both benchmarks: `create_pretraining_data` (example generation)
and the masked-LM task with its orbit trainer (training). The directory records the set
it was installed with, so a directory from another set is brought up to date instead of
being trusted because `official/` exists.

The packages go in with `--no-deps`, beside bertpipe's own environment (which provides
TensorFlow, tf_keras and the rest at the pinned versions); what `official.core` and
`official.nlp` import beyond that environment is listed here (tensorflow-hub 0.15 in the
environment imports the removed `tf.estimator`, hence 0.16.1).
"""

from __future__ import annotations

import os
import subprocess
import sys

PACKAGES = (
    "tf-models-official==2.16.0",
    "sentencepiece==0.2.0",
    "gin-config==0.5.0",
    "tensorflow-datasets==4.9.3",
    "etils==1.5.2",
    "dm-tree==0.1.8",
    "promise==2.3",
    "toml==0.10.2",
    "seqeval==1.2.2",
    "tensorflow-hub==0.16.1",
)
_STAMP = ".bertpipe-packages"


def install(directory: str) -> str | None:
    """Installs `PACKAGES` into `directory` unless it already holds exactly them.

    Returns the directory, or None (with the reason printed) when pip fails: the
    benchmarks then skip their Model Garden figures.
    """
    directory = os.path.abspath(directory)
    stamp = os.path.join(directory, _STAMP)
    wanted = "\n".join(PACKAGES) + "\n"
    if os.path.exists(stamp):
        with open(stamp) as f:
            if f.read() == wanted:
                return directory
    print(f"installing Model Garden into {directory} ...", flush=True)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--upgrade"]
    run = subprocess.run(
        [*command, "--target", directory, *PACKAGES], capture_output=True, text=True
    )
    if run.returncode:
        last = (run.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"Model Garden could not be installed ({last}); its figures are skipped.")
        return None
    with open(stamp, "w") as f:
        f.write(wanted)
    return directory
