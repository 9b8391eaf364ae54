# loadwatch: `make demo` and `make test` are all a fresh clone needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The pure core and all of collector/ are type-checked with --strict; the other I/O
# edges with the default settings.
PURE_CORE := collector \
	reference_services/ai_model.py reference_services/ratelimit.py reference_services/video.py \
	reference_services/course/content.py loadtests promstack alert_rules dashboards livehub

.PHONY: demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/loadwatch demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Whole packages under --strict; tests and benchmarks under the default settings.
STRICT_PACKAGES := runtime loadwatch runs
typecheck: $(STAMP)
	$(BIN)/mypy --strict $(PURE_CORE)
	$(BIN)/mypy --strict $(STRICT_PACKAGES)
	$(BIN)/mypy collector runtime loadwatch reference_services loadtests alert_rules livehub runs
	$(BIN)/mypy tests benchmarks

# pytest exits 5 when it collects no test, which fails the target as it should.
test: lint typecheck
	$(BIN)/python -m pytest

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache var reports
