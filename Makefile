# The two commands of the README: `make demo` (the main job) and `make test`.
# Each creates or refreshes the local virtual environment .venv by itself.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint types unit bench conformance clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/lgsp demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

types: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest

test: lint types unit

# make bench ARGS="--quick" for a short run; ARGS="--json out.json" to keep the figures
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(ARGS)

# The endpoint suite against a sandbox the kit starts, one run per profile, then the proof that
# it can fail (every fault knob and defect of the sandbox caught): JUnit and HTML in reports/.
PROFILES := vxp gateway soap-hub portal portal-token
conformance: $(STAMP)
	mkdir -p reports
	for p in $(PROFILES); do \
		$(BIN)/lgsp conformance endpoint --profile $$p --out reports/$$p.xml \
			--out reports/$$p.html -q || exit 1; \
	done
	$(BIN)/lgsp conformance proof --out reports/proof.xml --out reports/proof.html -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache reports
