# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint matrix bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

demo: $(STAMP)  ## run the example project on http://127.0.0.1:8000 (fakeredis:// unless REDIS_URL is set)
	$(BIN)/python example_project/manage.py runserver 127.0.0.1:8000

test: $(STAMP)  ## the whole suite, against a redis-server it starts itself
	$(BIN)/python -m pytest

LINT_PATHS := django_redis_pool tests example_project benchmarks

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS) && $(BIN)/ruff format --check $(LINT_PATHS)

matrix:  ## oldest and newest supported stacks, each in its own venv
	bash .ci/matrix

bench: $(STAMP)  ## benchmarks/README.md; writes docs/benchmarks.md
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .venv-* .pytest_cache .coverage build *.egg-info
