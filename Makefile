# Two commands for a new user: `make run` and `make test`. Every target creates .venv when missing.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
KN     := $(VENV)/bin/kiemnhiem
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
export OMP_NUM_THREADS ?= 2
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: install run ingest test test-fast test-all bench lint eval clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and exactly: any other version pulls a multi-GB CUDA build
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

ingest: install
	$(KN) ingest

run: install
	$(KN) ingest
	@echo "Mở trình duyệt / open: http://$(HOST):$(PORT)/"
	$(KN) serve --host $(HOST) --port $(PORT)

test: install  # every tier: tests/unit, tests/integration (real model), tests/e2e (servers, browser)
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

# the langsmith and schemathesis pytest plugins serve no unit test: not loading them saves ~2 s of start-up
test-fast: install  # unit tier only: no model, no server; well under a minute while editing
	$(PY) -m pytest -q tests/unit -p no:langsmith_plugin -p no:schemathesis $(PYTEST_ARGS)

test-all: install  # also the long measurements (kill during a large ingest, RSS over 2,000 requests)
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: install
	$(KN) dev bench
	$(PY) -m assistant.tools.bench_backends

eval: install
	$(KN) eval

lint: install  # ruff, mypy (strict on the core modules), then the import contracts (all in pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

clean:
	rm -rf .kiemnhiem .pytest_cache .ruff_cache .mypy_cache
