# The two commands of the quick start: `make demo` and `make test`.
# Both build .venv from nothing and are safe to re-run.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
SICK   := sample_data/sick-leave
SCHOOL := sample_data/school-support

.PHONY: demo test lint schema bench clean system

# System packages the tests need (LibreOffice headless for real client files and
# workbook recalculation). Installed only when missing; needs root, as CI is.
system:
	@command -v soffice >/dev/null 2>&1 || ( \
	  echo "installing LibreOffice (headless) for the tests ..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    libreoffice-calc-nogui >/dev/null )

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/contract check $(SICK)/contract.yaml
	@files="--outcomes $(SICK)/outcomes/baseline-2024.xlsx"; \
	for q in 1 2 3 4; do \
	  files="$$files --outcomes $(SICK)/outcomes/2025-Q$$q.xlsx"; \
	  echo; echo "== contract settle $(SICK)/contract.yaml --period 2025-Q$$q $$files"; \
	  $(BIN)/contract settle $(SICK)/contract.yaml --period 2025-Q$$q $$files || exit 1; \
	done

test: $(STAMP) system
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

schema: $(STAMP)
	$(BIN)/contract schema -o schemas/contract.schema.json

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis contracts.db
