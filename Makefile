# loadwatch: `make demo` and `make test` are all a fresh clone needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The pure core is type-checked with --strict; the I/O edges with the default settings.
PURE_CORE := collector/units.py collector/sla.py collector/conventions.py collector/quantiles.py \
	collector/recorder.py collector/exposition.py collector/snapshot.py \
	reference_services/ai_model.py reference_services/ratelimit.py reference_services/video.py \
	reference_services/course/content.py loadtests/stats.py loadtests/live.py loadtests/gate.py \
	loadtests/report.py loadtests/prometheus.py \
	livehub/state.py livehub/message.py livehub/fanout.py

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

typecheck: $(STAMP)
	$(BIN)/mypy --strict $(PURE_CORE)
	$(BIN)/mypy collector loadwatch reference_services loadtests livehub

# pytest exits 5 when it collects no test, which fails the target as it should.
test: lint typecheck
	$(BIN)/python -m pytest

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit -q

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache var reports
