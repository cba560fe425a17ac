# One command surface for people and CI: `make run`, `make test`, `make lint`, `make bench`.
# The virtual environment sets itself up (and refreshes when a requirements file changes).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed

.DEFAULT_GOAL := help
.PHONY: help setup native run test lint bench clean

help:
	@echo "make run    serve the dashboard on localhost (sets up $(VENV) first if needed)"
	@echo "make test   ruff + the test suite (the browser test needs Debian chromium)"
	@echo "make lint   ruff + mypy on deid/"
	@echo "make bench  run every bench/*.py script"
	@echo "make setup  create $(VENV) and install requirements-dev.txt"
	@echo "make native compile the hot modules (mypyc; skipped without a C compiler)"
	@echo "make clean  remove $(VENV), caches and test artifacts"

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

setup: $(STAMP)

# The compiled hot modules (deid/native.py): rebuilt when the sources changed, skipped with a
# message on a machine without a C compiler (the package then runs as pure Python). A module
# that does not compile fails `make native` and `make test`; `make run` says so and serves the
# dashboard in pure Python.
native: $(STAMP)
	$(BIN)/python tools/build_native.py

run: $(STAMP)
	-$(BIN)/python tools/build_native.py
	$(BIN)/streamlit run app.py --server.address localhost

test: native
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: native
	@found=0; \
	for script in bench/*.py; do \
		[ -e "$$script" ] || continue; \
		found=1; \
		echo "== $$script"; \
		PYTHONPATH=. $(BIN)/python "$$script" || exit 1; \
	done; \
	if [ "$$found" = 0 ]; then \
		echo "make bench: no bench/*.py scripts yet, nothing to run (see bench/README.md)"; \
	fi

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache .mypy_cache tests/e2e/artifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
