# syntax=docker/dockerfile:1
# The image every bertpipe Kubeflow / Vertex step runs in.
#
#   make image       CPU TensorFlow (data steps, evaluator, pusher, CPU/GPU-less nodes)
#   make image-tpu   + TensorFlow built for Cloud TPU VMs and libtpu (the Trainer on TPUs)
#
# ENTRYPOINT is Beam's SDK harness boot (/opt/apache/beam/boot), so the image is also a
# Dataflow custom container (--sdk_container_image): Dataflow starts the image's entrypoint
# with the worker's flags (cloud.google.com/dataflow/docs/guides/build-container-image,
# "Use a custom base image"). Kubeflow and Vertex steps do not go through it: the compiled
# PipelineSpec sets each step's `command` (python -m tfx.orchestration.kubeflow.v2...), and
# a container `command` replaces the image ENTRYPOINT (see docs/deploy/image.md for where
# KFP and Vertex set it). `python` in that command must be the venv's python.
# `bertpipe` is on PATH as well (CMD: its help).

# Pinned to an exact Python patch release and Debian release (glibc 2.36, which tfx 1.16's
# ml-metadata wheels need). To pin by digest: --build-arg PYTHON_IMAGE=python:...@sha256:...
ARG PYTHON_IMAGE=python:3.10.19-slim-bookworm
# Beam's Python 3.10 SDK image of the pinned apache-beam, for its boot binary only (the
# pip-installed SDK ships none). Must equal constraints.txt's apache-beam version.
ARG BEAM_SDK_IMAGE=apache/beam_python3.10_sdk:2.59.0

FROM ${BEAM_SDK_IMAGE} AS beam_sdk

FROM ${PYTHON_IMAGE} AS builder
# cpu or tpu (see requirements-tpu.txt).
ARG TF_VARIANT=cpu
# Where Google publishes the libtpu build that tensorflow-tpu 2.16 requires (not on PyPI).
ARG LIBTPU_INDEX=https://storage.googleapis.com/libtpu-tf-releases/index.html
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# Unset by default (pip reads PyPI). `make image-check` sets them to install from a
# wheelhouse it downloaded on the host and mounted into the build (no index in the build).
ARG PIP_NO_INDEX
ARG PIP_FIND_LINKS
# Compilers for the pinned packages that PyPI has no wheel of: crcmod (C; Beam's GCS IO)
# and pyfarmhash (C++; tensorflow-transform's hashing). They stay in this stage.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc g++ libc6-dev \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# The pinned dependencies first, in a layer that only setup.py's install_requires,
# constraints.txt and requirements-tpu.txt invalidate: a change to the bertpipe source
# rebuilds only the two layers after it. The same resolution as
# `pip install -c constraints.txt .` (scripts/install_pinned.sh, which `make` runs):
# setup.py's install_requires against the same constraints, then `pip check`.
COPY constraints.txt requirements-tpu.txt setup.py ./
COPY scripts/install_requires.py scripts/install_pinned.sh scripts/
# TPU variant: then overwrite TensorFlow's files with the TPU build of the same version.
RUN python scripts/install_requires.py setup.py >/tmp/requirements.txt \
    && scripts/install_pinned.sh /opt/venv/bin/python --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt \
    && if [ "$TF_VARIANT" = tpu ]; then \
        python -m pip install --no-cache-dir --no-deps -r requirements-tpu.txt \
            --find-links "$LIBTPU_INDEX" \
        && python -m pip check; \
    elif [ "$TF_VARIANT" != cpu ]; then \
        echo "TF_VARIANT must be cpu or tpu, got '$TF_VARIANT'" >&2; exit 2; \
    fi
# Then the build context (.dockerignore lets in only the package, README.md and the
# scripts above) and bertpipe itself, with no dependencies to resolve: everything it
# requires is there, which `pip check` confirms. One COPY and one RUN: with a
# copy-on-write-less store (buildah's vfs) every instruction copies the whole tree.
COPY . ./
# Fail the build, not the first pipeline step, if the image cannot run a step.
RUN python -m pip install --no-cache-dir --no-deps . \
    && python -m pip check \
    && python scripts/check_image.py --variant "$TF_VARIANT"

FROM ${PYTHON_IMAGE} AS runtime
ARG TF_VARIANT=cpu
LABEL org.opencontainers.image.title="bertpipe" \
      org.opencontainers.image.description="TFX components and Kubeflow/Vertex pipelines for BERT masked-LM pretraining" \
      org.opencontainers.image.licenses="Apache-2.0" \
      dev.bertpipe.tf-variant="${TF_VARIANT}"
# A fixed numeric UID so Kubernetes `runAsNonRoot` can verify it without a passwd lookup.
# The KFP v2 launcher (run as this user inside each step) stages artifacts under /gcs,
# /minio and /s3 (kubeflow/pipelines#5673). KFP >= 2.3.0 mounts scratch volumes there;
# owning the directories keeps the image usable where nothing is mounted.
RUN groupadd --gid 1000 bertpipe \
    && useradd --uid 1000 --gid 1000 --create-home --home-dir /home/bertpipe bertpipe \
    && install -d -o 1000 -g 1000 -m 0755 /gcs /minio /s3
COPY --from=builder /opt/venv /opt/venv
# RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT: Beam's boot (>= 2.44) otherwise creates a fresh
# venv in /opt/apache/beam-venv on worker start-up, which would not see /opt/venv's
# packages (Dataflow's custom-container guide, "Common issues").
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HOME=/home/bertpipe \
    RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT=1
WORKDIR /home/bertpipe
USER 1000:1000
CMD ["bertpipe", "--help"]

# The image users build and push: the runtime plus Beam's boot as the entrypoint.
# `make image-check` builds --target runtime, because apache/beam_python3.10_sdk cannot be
# pulled on machines without a container registry (docs/deploy/image.md).
FROM runtime
COPY --from=beam_sdk /opt/apache/beam /opt/apache/beam
ENTRYPOINT ["/opt/apache/beam/boot"]
