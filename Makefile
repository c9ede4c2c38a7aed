# Two set-up commands that work on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed

.PHONY: demo test test-slow docs data bench clean repro repro-quick

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[test,docs]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/certify demo --out demo-out

# tests/cuda: skipped without a GPU in the first run, then every CUDA kernel under numba's simulator
test: $(STAMP)
	$(PY) -m pytest -q && NUMBA_ENABLE_CUDASIM=1 $(PY) -m pytest -q tests/cuda

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

docs: $(STAMP)
	$(VENV)/bin/sphinx-build -W --keep-going -q -b html docs docs/_build/html

# Every paper reproduction at full scale (paper_repro/NAME.py -> paper_repro/results/NAME.json + NAME.png).
repro: $(STAMP)
	$(VENV)/bin/certify repro --list --json | $(PY) -c "import json,sys; print('\n'.join(r['name'] for r in json.load(sys.stdin)))" \
	  | while read name; do $(VENV)/bin/certify repro $$name || exit 1; done

# The small variants, into a scratch directory (the test suite runs them with -m slow).
repro-quick: $(STAMP)
	$(PY) -m pytest -q -m slow tests/repro

# Fashion-MNIST from Debian (root): used by the data loader tests and the paper reproductions.
data:
	test -d /usr/share/datasets/fashion-mnist || (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist)

clean:
	rm -rf $(VENV) docs/_build docs/catalogue demo-out .pytest_cache .hypothesis
