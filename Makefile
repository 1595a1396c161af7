# Two entry points do all set-up on a fresh machine: `make demo` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench clean serve

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/newsdesk demo

serve: $(STAMP)
	$(BIN)/newsdesk serve

test: $(STAMP)
	$(BIN)/ruff check newsdesk tests
	$(BIN)/mypy newsdesk
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/newsdesk bench

clean:
	rm -rf $(VENV) data build *.egg-info
