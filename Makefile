# Every target creates .venv/ from nothing but python3 when it is missing, then installs what it needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
ASSIGNMENTS := $(notdir $(wildcard solutions/[0-9]*))

.PHONY: run test lab notebooks benchmark clean help

help:
	@echo "make run        train every registered rule on the offline digits and compare them"
	@echo "make test       the whole test suite (offline, CPU)"
	@echo "make lab        open JupyterLab on the tutorials"
	@echo "make notebooks  regenerate the student notebooks/ from solutions/"
	@echo "make benchmark  time every rule, NumPy reference vs JAX"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.run-deps: pyproject.toml | $(PY)
	$(PIP) install -e ".[jax]"
	@touch $@

$(VENV)/.dev-deps: pyproject.toml | $(PY)
	$(PIP) install -e ".[dev]"
	@touch $@ $(VENV)/.run-deps

run: $(VENV)/.run-deps
	$(PY) -m course_utils.compare

test: $(VENV)/.dev-deps
	$(PY) -m pytest

lab: $(VENV)/.dev-deps
	$(VENV)/bin/jupyter lab notebooks/

notebooks: $(VENV)/.dev-deps
	$(PY) -m autograder release

benchmark: $(VENV)/.run-deps
	$(PY) benchmarks/bench_rules.py

clean:
	rm -rf $(VENV) .pytest_cache outputs gradebook.db
