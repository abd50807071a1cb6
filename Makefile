# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint docs conformance cache-conformance django-redis-conformance matrix bench bench-failover clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

demo: $(STAMP)  ## run the example project on http://127.0.0.1:8000 (fakeredis:// unless REDIS_URL is set)
	$(BIN)/python example_project/manage.py runserver 127.0.0.1:8000

test: $(STAMP)  ## the whole suite, against a redis-server it starts itself (installed first where it can be)
	@sh .ci/test-tools
	$(BIN)/python -m pytest

LINT_PATHS := django_redis_pool tests example_project benchmarks docs

lint: $(STAMP)  ## ruff, mypy --strict, and the import contracts of pyproject's [tool.importlinter]
	$(BIN)/ruff check $(LINT_PATHS) && $(BIN)/ruff format --check $(LINT_PATHS)
	PYTHONPATH=.:example_project $(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# The documentation site (Sphinx, furo, MyST Markdown; config in docs/conf.py), strict: any warning,
# a broken link or reference included, fails. -E -a: a fresh build, so no warning hides in a cached page.
DOCS_STAMP := $(VENV)/.installed-docs

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,docs]'
	touch $@

docs: $(DOCS_STAMP)  ## builds docs/_build/html; opens nothing on the network
	$(BIN)/sphinx-build -E -a -W --keep-going -n -q -b html docs docs/_build/html
	@echo "docs: docs/_build/html/index.html"

conformance: $(STAMP)  ## redis-py's own pool tests on its classes and on ours, compared (tests/conformance/)
	$(BIN)/python -m tests.conformance.run

cache-conformance: $(STAMP)  ## Django's own cache tests on PooledRedisCache (tests/cache_conformance/)
	$(BIN)/python -m tests.cache_conformance.run

django-redis-conformance: $(STAMP)  ## django-redis's own tests on django-redis and on PooledRedisCache, compared (tests/django_redis_conformance/)
	$(BIN)/python -m tests.django_redis_conformance.run

matrix:  ## oldest and newest supported stacks, each in its own venv
	bash .ci/matrix

bench: $(STAMP)  ## about 13 minutes; writes docs/benchmarks.md, docs/benchmarks-growth.png and docs/benchmarks-fleet.md
	@for tool in redis-server wrk valgrind; do \
	    command -v $$tool >/dev/null 2>&1 && continue; \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server wrk valgrind >/dev/null; \
	    else \
	        echo "$$tool is missing: apt-get install redis-server wrk valgrind (sections needing it are skipped)"; \
	    fi; \
	    break; \
	done
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/bench_fleet.py

bench-failover: $(STAMP)  ## about 5 minutes; Sentinel failovers on fresh local topologies, writes docs/failover.md
	@command -v redis-server >/dev/null 2>&1 || { echo "redis-server is missing: apt-get install redis-server"; exit 1; }
	$(BIN)/python benchmarks/bench_failover.py

clean:
	rm -rf $(VENV) .venv-* .pytest_cache .coverage build *.egg-info .conformance docs/_build
