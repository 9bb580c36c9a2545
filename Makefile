# Atelier bilans — two commands matter: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
# Locked installs: exact versions and sha256 of every file, for `make run` (LOCK) and `make test`
# (DEVLOCK, a superset); uv installs them, with the index settings of this machine's pip.
LOCK := requirements.txt
DEVLOCK := requirements-dev.txt
UVLOCK := requirements-uv.txt
UV := $(BIN)/python tools/uv.py
# Lowest Python the universal lock is solved for: pyproject.toml's requires-python.
LOCK_PYTHON := $(shell sed -n 's/^requires-python = ">=\([0-9.]*\)".*/\1/p' pyproject.toml)

.PHONY: run test lab build check report analyses briefing bench lint clean browser lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# uv itself, bootstrapped by the venv's pip from its own locked, hash-checked line
$(BIN)/uv: $(UVLOCK) | $(BIN)/python
	$(BIN)/python -m pip install -q --require-hashes --no-deps -r $(UVLOCK)
	touch $@

# sync: the venv holds exactly the lock (plus pip, uv and the project, editable, without its deps)
$(STAMP): $(LOCK) pyproject.toml | $(BIN)/uv
	$(UV) pip sync -q --require-hashes -p $(BIN)/python $(LOCK)
	$(UV) pip install -q --no-deps -p $(BIN)/python -e .
	rm -f $(DEVSTAMP)
	touch $@

$(DEVSTAMP): $(DEVLOCK) pyproject.toml | $(BIN)/uv
	$(UV) pip sync -q --require-hashes -p $(BIN)/python $(DEVLOCK)
	$(UV) pip install -q --no-deps -p $(BIN)/python -e .
	touch $(STAMP) $@

## make lock : recalcule les verrous depuis pyproject.toml (versions gardées ; LOCK_ARGS=--upgrade pour monter)
lock: | $(BIN)/uv
	$(UV) pip compile -q pyproject.toml --extra dev --universal --python-version $(LOCK_PYTHON) \
	  --generate-hashes --custom-compile-command "make lock" $(LOCK_ARGS) -o $(DEVLOCK)
	$(UV) pip compile -q pyproject.toml --universal --python-version $(LOCK_PYTHON) \
	  --generate-hashes --custom-compile-command "make lock" -c $(DEVLOCK) -o $(LOCK)
	echo uv | $(UV) pip compile -q - --universal --python-version $(LOCK_PYTHON) \
	  --generate-hashes --custom-compile-command "make lock" -c $(LOCK) -o $(UVLOCK)
	rm -f $(STAMP) $(DEVSTAMP)

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
	$(BIN)/ruff check pipelines tests bench tools
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
	$(BIN)/ruff check pipelines tests bench tools

clean:
	rm -rf data/curated reports
