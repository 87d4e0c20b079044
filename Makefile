# The two commands a fresh clone needs: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
CHECKED := domain services persistence api tests/unit/test_ports.py tests/fake*.py

.PHONY: lock run test lint typecheck pytest demo demo-stream install-browser install-audit export-schema clean

LOCK := requirements.lock
BOOTSTRAP := requirements-bootstrap.txt
LOCKVENV ?= .lockvenv
PIP_TOOLS ?= pip-tools==7.7.0
COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(LOCKVENV)/bin/pip-compile -q --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links $(LOCK_ARGS)

# Installs only what the locks pin, every file checked against its hash (pip refuses anything
# unpinned or unhashed): first current pip and setuptools, then the app and dev tools, then the
# project itself, editable, without deps and without build isolation, so its build uses the
# pinned setuptools instead of fetching one. Stops first when a lock is older than its inputs.
$(VENV)/.installed: pyproject.toml $(LOCK) $(BOOTSTRAP) requirements-bootstrap.in
	python3 scripts/lock.py check
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes --no-deps -r $(BOOTSTRAP)
	$(PY) -m pip install -q --require-hashes --no-deps --only-binary :all: -r $(LOCK)
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	touch $@

# Re-pins after editing dependencies in pyproject.toml (other pins are kept): pip-tools in a
# throwaway venv writes both locks with hashes, then the input digests go into their headers.
# LOCK_ARGS=--upgrade moves every pin to the newest allowed; LOCK_ARGS='-P NAME' just one.
lock:
	python3 -m venv $(LOCKVENV)
	$(LOCKVENV)/bin/pip install -q '$(PIP_TOOLS)'
	$(COMPILE) --extra dev -o $(LOCK) pyproject.toml
	$(COMPILE) -o $(BOOTSTRAP) requirements-bootstrap.in
	python3 scripts/lock.py stamp

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
	rm -rf $(VENV) $(LOCKVENV) data .pytest_cache .mypy_cache .ruff_cache
