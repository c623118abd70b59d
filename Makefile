# convgif: `make gallery` and `make test` work on a fresh clone.
# The virtual environment is (re)built when it is missing or pyproject.toml changed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# PyTorch is an optional cross-check for the tests: installed only from a local
# wheel (never the multi-GB registry build); the tests skip it when absent.
TORCH_WHEEL := $(firstword $(wildcard /opt/wheels/torch-2.13.0*cp311*.whl))

.PHONY: all gallery test lint bench clean setup readme chromium compile

all: test

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	$(if $(TORCH_WHEEL),-$(BIN)/python -m pip install --quiet "$(TORCH_WHEEL)")
	touch $(STAMP)

setup: $(STAMP)

# Byte-code for the package's modules: an editable install has none, and where
# PYTHONDONTWRITEBYTECODE is set (as on CI machines) every `convgif` process
# would compile them again, about 0.2 s of its start-up. Only changed files
# are compiled again.
compile: $(STAMP)
	$(BIN)/python -m compileall -q convgif

# GALLERY_FLAGS=--force redraws every figure, current or not (CI does, to check
# that the committed GIFs are exactly what this code draws).
gallery: compile
	$(BIN)/convgif gallery --out gallery $(GALLERY_FLAGS)

test: compile
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check convgif tests benchmarks
	$(BIN)/ruff format --check convgif tests benchmarks

bench: compile
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

readme: $(STAMP)
	$(BIN)/python -m convgif.docs README.md

# Debian's Chromium, for the HTML player's tests (run as root); nothing if present.
chromium:
	test -x /usr/bin/chromium || \
	  (apt-get update && apt-get install -y --no-install-recommends chromium)
