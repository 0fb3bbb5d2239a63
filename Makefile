# HW4 course repository. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# The virtual environment is cached outside the clone, keyed by the dependency
# files, so a fresh clone (CI) reuses it instead of reinstalling PyTorch.
VENV_CACHE ?= $(HOME)/.cache/hw4-venvs
REQ_HASH := $(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
CACHED_VENV := $(VENV_CACHE)/venv-$(REQ_HASH)
PYTEST_WORKERS ?= 2

.PHONY: help venv demo test test-fast release answers gradescope book book-instructor oracle bench gpu-check clean

help:
	@echo "make demo        set up, build release + Gradescope zip, grade reference and release"
	@echo "make test        run the whole test suite (creates .venv if missing)"
	@echo "make test-fast   the suite without the slow end-to-end tests (the edit loop)"
	@echo "make release     regenerate release/hw4 from source/hw4"
	@echo "make answers     regenerate the stored .npz answers from the reference"
	@echo "make gradescope  build autograder.zip for Gradescope"
	@echo "make book        build the student course book (assignments/_build/html)"
	@echo "make book-instructor  the book with the theory solutions (instructors only)"
	@echo "make oracle      train and export the oracle generator (once, on a GPU)"
	@echo "make bench       grader and model benchmarks on one core"
	@echo "make gpu-check   CUDA tests and benchmarks (needs a GPU)"

venv: $(VENV)/.ready

$(VENV)/.ready: requirements.txt requirements-dev.txt
	@if [ ! -x "$(CACHED_VENV)/bin/python" ] || [ ! -f "$(CACHED_VENV)/.complete" ]; then \
	  echo "creating virtual environment $(CACHED_VENV)"; \
	  rm -rf "$(CACHED_VENV)"; mkdir -p "$(VENV_CACHE)"; \
	  $(PYTHON) -m venv "$(CACHED_VENV)" && \
	  "$(CACHED_VENV)/bin/pip" install -q --upgrade pip && \
	  "$(CACHED_VENV)/bin/pip" install -q -r requirements-dev.txt && \
	  "$(CACHED_VENV)/bin/python" -m ipykernel install --sys-prefix --name python3 >/dev/null && \
	  touch "$(CACHED_VENV)/.complete"; \
	fi
	@rm -rf $(VENV) && ln -s "$(CACHED_VENV)" $(VENV)
	@touch -h $(VENV) && touch $(VENV)/.ready

demo: venv
	$(PY) -m autograder release
	$(PY) -m autograder gradescope --out autograder.zip
	$(PY) -m autograder grade source/hw4 --json build/demo/reference.json
	$(PY) -m autograder grade release/hw4 --json build/demo/release.json

test: venv
	bash tests/run_suite.sh $(PY) $(PYTEST_WORKERS)

test-fast: venv
	bash tests/run_suite.sh $(PY) $(PYTEST_WORKERS) -m "not slow"

release: venv
	$(PY) -m autograder release

answers: venv
	$(PY) -m autograder answers

gradescope: venv
	$(PY) -m autograder gradescope --out autograder.zip

book: venv
	$(PY) -m autograder book

book-instructor: venv
	$(PY) -m autograder book --instructor

oracle: venv
	$(PY) -m autograder oracle --data-dir data --download --epochs 10 --out oracle_generator.pt

bench: venv
	$(PY) -m autograder.bench

gpu-check: venv
	bash tests/gpu_check.sh $(PY)

clean:
	rm -rf build autograder.zip assignments/_build .pytest_cache
