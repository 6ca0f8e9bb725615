# Everything needs only python3: the first target that wants the venv builds it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m fixtures.generate --out demo --fresh --with-bad-file
	$(BIN)/reflect-eval run --config demo/reflect-eval.toml

test: $(STAMP)
	$(BIN)/python -m pytest -n auto

# Every benchmark, privacy, ingest, the million-response backfill (template CSVs, then as
# Microsoft Forms .xlsx files and one Qualtrics export), then one training day against a
# running Prefect server; each writes its own
# section of benchmarks/results.md.
# The privacy run is the ten-year one (up to 30 min a preset): see bench_privacy --help.
bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench_privacy
	$(BIN)/python -m tests.benchmarks.bench_ingest
	$(BIN)/python -m benchmarks.bench_backfill
	$(BIN)/python -m benchmarks.bench_tool_volume
	$(BIN)/python -m benchmarks.bench_training_day

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf demo .pytest_cache .ruff_cache .hypothesis
