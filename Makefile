# bertpipe: every target sets up .venv itself (Python 3.10 + constraints.txt), so a
# fresh clone needs only `make run` or `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
# `make image` tags $(IMAGE):$(VERSION); `make image-tpu` tags $(IMAGE):$(VERSION)-tpu.
IMAGE ?= bertpipe
VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' pipelines/__init__.py)
DOCKER ?= docker

.PHONY: setup browser run test lint bench image image-tpu image-build image-check clean

setup:
	@PYTHON310="$(PYTHON310)" VENV="$(VENV)" scripts/setup_venv.sh

# The main job: the whole pipeline on the sample corpus (vocabulary, examples, training,
# evaluation, push under runs/sample), then one question to the pushed model.
RUN_ARGS ?=
run: setup
	$(VENV)/bin/bertpipe run $(RUN_ARGS)
	$(VENV)/bin/bertpipe predict --model runs/sample/serving "The whale swam into the [MASK]."

# Headless Chromium for the evaluator report's screenshot test (Debian packages).
browser:
	@scripts/install_browser.sh

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The whole suite, the built image's tests included (IMAGE_TESTS=0 leaves the image out:
# building it needs root and Debian's buildah; docs/deploy/image.md).
IMAGE_TESTS ?= 1
ifeq ($(IMAGE_TESTS),1)
test: lint browser image-build
	BERTPIPE_IMAGE=$(IMAGE_CHECK_TAG) $(PY) -m pytest $(PYTEST_ARGS)
	@cat .cache/image/last-build-cpu.txt
else
test: lint browser
	$(PY) -m pytest $(PYTEST_ARGS)
endif

# The image every Kubeflow/Vertex step runs in (needs a Docker engine; see README).
# TPU VMs are x86-64, so the image is built for linux/amd64 on any host.
image:
	$(DOCKER) build --platform linux/amd64 --build-arg TF_VARIANT=cpu -t $(IMAGE):$(VERSION) .

image-tpu:
	$(DOCKER) build --platform linux/amd64 --build-arg TF_VARIANT=tpu -t $(IMAGE):$(VERSION)-tpu .

# Builds the CPU image here from the Dockerfile without a Docker engine (buildah on an
# offline python:3.10-slim-bookworm stand-in, cached under .cache/image), then runs
# check_image.py and every compiled Kubeflow step of the tiny pipeline inside it as UID
# 1000 (docs/deploy/image.md). Needs root. `make test` does both as part of the suite;
# this target is the image alone.
IMAGE_CHECK_TAG ?= localhost/bertpipe:check-cpu
image-build: setup
	@scripts/image/install_tools.sh
	IMAGE_TAG=$(IMAGE_CHECK_TAG) PIP=$(VENV)/bin/pip scripts/image/build.sh cpu

image-check: image-build
	BERTPIPE_IMAGE=$(IMAGE_CHECK_TAG) $(PY) -m pytest -m image tests/image $(PYTEST_ARGS)
	@cat .cache/image/last-build-cpu.txt

# Every script in benchmarks/, example generation first; each prints its ratios.
BENCHMARKS := benchmarks/example_gen.py \
	$(filter-out benchmarks/example_gen.py,$(sort $(wildcard benchmarks/*.py)))

bench: setup
	@set -e; for script in $(BENCHMARKS); do \
		echo "== $$script"; PYTHONPATH=$(CURDIR) $(PY) $$script; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
