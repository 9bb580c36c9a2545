# Atelier bilans — two commands matter: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: run test lab build check report analyses briefing bench lint clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(DEVSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP) $@

## make run : construit le magasin, valide, rapports pour les auteurs, carnets d'analyse
run: $(STAMP)
	$(BIN)/bilans build
	$(BIN)/bilans report
	$(BIN)/bilans run

DB := data/curated/bilans.duckdb
LAB_PORT ?= 8888

# The store, built once if missing (make build rebuilds it).
$(DB): | $(STAMP)
	$(BIN)/bilans build

## make lab : JupyterLab de l'analyste sur 127.0.0.1, dans notebooks/, noyau python3 = le Python de .venv
lab: $(STAMP) | $(DB)
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) \
	  --ServerApp.root_dir=notebooks $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(LAB_ARGS)

## make test : toute la suite de tests (CI)
test: $(DEVSTAMP) browser
	$(BIN)/ruff check pipelines tests bench
	$(BIN)/python -m pytest -q

# Debian's Chromium for the end-to-end briefing test (no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null) || echo "chromium indisponible : test navigateur ignoré"; \
	  else echo "chromium absent : test navigateur ignoré"; fi; }

build: $(STAMP)
	$(BIN)/bilans build

report: $(STAMP)
	$(BIN)/bilans report

analyses: $(STAMP)
	$(BIN)/bilans run

briefing: $(STAMP)
	$(BIN)/bilans briefing

bench: $(DEVSTAMP)
	$(BIN)/python bench/run.py

lint: $(DEVSTAMP)
	$(BIN)/ruff check pipelines tests bench

clean:
	rm -rf data/curated reports
