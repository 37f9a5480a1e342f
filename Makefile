# Two commands do all the set-up on a fresh machine:
#   make demo   - create .venv, install leaktrace, mark fixtures, simulate a leak, identify it
#   make test   - create .venv, install leaktrace + test tools, run the whole suite
#                 (against a PostgreSQL server: the local one, or a throwaway cluster it starts)
PYTHON ?= python3
VENV := .venv
DEPS_HASH := $(shell cat pyproject.toml | sha256sum | cut -c1-12)
STAMP := $(VENV)/.installed-$(DEPS_HASH)

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@rm -f $(VENV)/.installed-*
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test,heif]'
	@touch $@

demo: $(STAMP)
	bash scripts/demo.sh

LINTED := src tests benchmarks fixtures scripts

test: $(STAMP)
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	scripts/ensure-chromium
	scripts/ensure-ghostscript
	scripts/ensure-tesseract
	scripts/with-postgres $(VENV)/bin/python -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/robustness.py

clean:
	rm -rf $(VENV) build .pytest_cache
