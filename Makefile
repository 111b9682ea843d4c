# bertpipe: every target sets up .venv itself (Python 3.10 + constraints.txt), so a
# fresh clone needs only `make run` or `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup run test lint bench image clean

setup:
	@PYTHON310="$(PYTHON310)" VENV="$(VENV)" scripts/setup_venv.sh

# The main job.
run: setup
	$(VENV)/bin/bertpipe doctor

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(PY) -m pytest $(PYTEST_ARGS)

# Every script in benchmarks/, example generation first; each prints its ratios.
BENCHMARKS := benchmarks/example_gen.py \
	$(filter-out benchmarks/example_gen.py,$(sort $(wildcard benchmarks/*.py)))

bench: setup
	@set -e; for script in $(BENCHMARKS); do \
		echo "== $$script"; PYTHONPATH=$(CURDIR) $(PY) $$script; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
