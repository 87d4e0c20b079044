# The two commands a fresh clone needs: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
CHECKED := domain services persistence api tests/unit/test_ports.py tests/fake*.py

.PHONY: run test lint typecheck pytest demo demo-stream install-browser install-audit export-schema clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/segmento serve --host $(HOST) --port $(PORT)

demo: $(VENV)/.installed
	$(BIN)/segmento demo

# With `make run` going in another terminal: loads the sample if the database is empty, then
# records RATE interactions a second through the server, so /dashboard moves. Ctrl-C stops it.
RATE ?= 5
demo-stream: $(VENV)/.installed
	$(BIN)/segmento demo --stream --rate $(RATE) --url http://$(HOST):$(PORT)/graphql

# Debian's Chromium for the browser tests (does nothing when /usr/bin/chromium is there).
install-browser:
	bash scripts/install-browser.sh

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed
	$(BIN)/mypy $(CHECKED)

# Node and the pinned graphql-http audit suite (tests/audit/) for the GraphQL-over-HTTP audit.
install-audit:
	bash scripts/install-audit.sh

pytest: $(VENV)/.installed install-browser install-audit
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

export-schema: $(VENV)/.installed
	$(BIN)/segmento export-schema > frontend-contract/schema.graphql

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
