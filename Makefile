# The two commands of the quick start: `make demo` and `make test`.
# Both build .venv from nothing and are safe to re-run.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
SICK   := sample_data/sick-leave
SCHOOL := sample_data/school-support

.PHONY: demo test lint schema bench clean system

# System packages the tests need (LibreOffice headless for real client files,
# workbook recalculation and DOCX; Pango and poppler for PDF documents). Installed only when
# missing; needs root, as CI is.
system:
	@dpkg -s libreoffice-calc-nogui libreoffice-writer-nogui >/dev/null 2>&1 || ( \
	  echo "installing LibreOffice (headless Calc and Writer) for the tests and DOCX ..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    libreoffice-calc-nogui libreoffice-writer-nogui >/dev/null )
	@# Pango, HarfBuzz and a font for WeasyPrint (contract render --format pdf), and
	@# pdftotext to read the PDF back in the tests.
	@( command -v pdftotext >/dev/null 2>&1 \
	  && ldconfig -p | grep -q libpangoft2-1.0 && ldconfig -p | grep -q libharfbuzz-subset \
	  && test -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ) || ( \
	  echo "installing Pango, HarfBuzz, DejaVu fonts and poppler-utils for PDF documents ..."; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core poppler-utils >/dev/null )

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# The year of the sick-leave sample in a fresh embedded ledger (SQLite, .demo/contracts.db):
# ingest the files, settle and approve each quarter, correct Q2, settle it again (an
# adjustment against the approved one), approve, list, audit.
DEMO_DB := .demo/contracts.db
demo: $(STAMP)
	rm -rf .demo && mkdir -p .demo
	$(BIN)/contract check $(SICK)/contract.yaml
	CONTRACT_DB=$(DEMO_DB) $(BIN)/contract outcomes ingest $(SICK)/contract.yaml $(SICK)/outcomes/baseline-2024.xlsx --period 2024
	@for q in 1 2 3 4; do \
	  echo "== contract outcomes ingest $(SICK)/contract.yaml $(SICK)/outcomes/2025-Q$$q.xlsx --period 2025-Q$$q"; \
	  CONTRACT_DB=$(DEMO_DB) $(BIN)/contract outcomes ingest $(SICK)/contract.yaml $(SICK)/outcomes/2025-Q$$q.xlsx --period 2025-Q$$q || exit 1; \
	done
	@for q in 1 2 3 4; do \
	  echo; echo "== contract settle $(SICK)/contract.yaml --period 2025-Q$$q"; \
	  CONTRACT_DB=$(DEMO_DB) $(BIN)/contract settle $(SICK)/contract.yaml --period 2025-Q$$q || exit 1; \
	done
	@for n in 1 2 3 4; do CONTRACT_DB=$(DEMO_DB) $(BIN)/contract approve $$n --by eva.ek || exit 1; done
	CONTRACT_DB=$(DEMO_DB) $(BIN)/contract outcomes ingest $(SICK)/contract.yaml $(SICK)/outcomes/2025-Q2-corrected.xlsx --period 2025-Q2 --replace
	CONTRACT_DB=$(DEMO_DB) $(BIN)/contract settle $(SICK)/contract.yaml --period 2025-Q2
	CONTRACT_DB=$(DEMO_DB) $(BIN)/contract approve 5 --by eva.ek
	CONTRACT_DB=$(DEMO_DB) $(BIN)/contract settlements list
	CONTRACT_DB=$(DEMO_DB) $(BIN)/contract audit verify

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
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis .demo
