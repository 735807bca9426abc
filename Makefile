# Every target creates .venv/ from nothing but python3 when it is missing, then installs what it needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
# Students get their own, slim environment for `make lab` (no torch, no nbgrader, no test tools).
STUDENT_VENV := .venv-student
# A quiet install: $(call install,PYTHON,ARGS,LOG). pip's output and setuptools' build warnings go to
# LOG, shown only when the install fails. (ARGS with a comma: through a variable, as below.)
install = PYTHONWARNINGS=ignore $(1) -m pip --disable-pip-version-check -q install --no-warn-script-location \
	$(2) >$(3) 2>&1 || { cat $(3); echo "error: pip install $(2) failed (log: $(3))"; exit 1; }
STUDENT_EXTRAS := .[jax,notebooks]
GRADING_EXTRAS := .[grading,jax]
BOOK_EXTRAS := .[jax,notebooks,book]
ASSIGNMENTS := $(notdir $(wildcard solutions/[0-9]*))

.PHONY: run test lab notebooks benchmark clean help system-deps student-edition release grade autograde book configure gradescope

help:
	@echo "make run        train every registered rule on the offline digits and compare them"
	@echo "make test       the whole test suite (offline, CPU)"
	@echo "make lab        open JupyterLab on the tutorials (in its own slim .venv-student/)"
	@echo "make notebooks  regenerate the student notebooks/ from solutions/"
	@echo "make benchmark  time every rule, NumPy reference vs JAX"
	@echo "make student-edition  a wheel of the course package without the exercises' answers"
	@echo "make release    (instructors) = make notebooks"
	@echo "make configure REPO=OWNER/NAME [BOOK_URL=URL]   (instructors) where the course lives, then release"
	@echo "make book       the course as a website in book/_build/html (full run, cached; FAST=1: fast mode)"
	@echo "make grade SUBMISSIONS=submitted OUT=grades.csv   grade every notebook below a folder"
	@echo "make autograde ASSIGNMENT=01_perturbation          nbgrader autograde, through the sandbox"
	@echo "make gradescope ASSIGNMENT=01_perturbation [SECRET=course.secret]   Gradescope's autograder zip"

$(PY):
	$(PYTHON) -m venv $(VENV)
	@$(call install,$(PY),--upgrade pip,$(VENV)/install.log)

$(VENV)/.run-deps: pyproject.toml | $(PY)
	@echo "installing the course package into $(VENV)/"
	@$(call install,$(PY),-e ".[jax]",$(VENV)/install.log)
	@touch $@

$(VENV)/.dev-deps: pyproject.toml | $(PY)
	@echo "installing the course package and every tool into $(VENV)/"
	@$(call install,$(PY),-e ".[dev]",$(VENV)/install.log)
	@touch $@ $(VENV)/.run-deps $(VENV)/.grading-deps $(VENV)/.book-deps

$(VENV)/.grading-deps: pyproject.toml | $(PY)
	@echo "installing the course package and the instructor's tools into $(VENV)/"
	@$(call install,$(PY),-e "$(GRADING_EXTRAS)",$(VENV)/install.log)
	@touch $@

$(VENV)/.book-deps: pyproject.toml | $(PY)
	@echo "installing the course package and the book's tools into $(VENV)/"
	@$(call install,$(PY),-e "$(BOOK_EXTRAS)",$(VENV)/install.log)
	@touch $@

$(STUDENT_VENV)/.lab-deps: pyproject.toml
	@test -x $(STUDENT_VENV)/bin/python || $(PYTHON) -m venv $(STUDENT_VENV)
	@echo "installing what the tutorials need into $(STUDENT_VENV)/ (once)"
	@$(call install,$(STUDENT_VENV)/bin/python,-e "$(STUDENT_EXTRAS)",$(STUDENT_VENV)/install.log)
	@# save widget state with the notebook, so that a reopened notebook shows its explorers
	@mkdir -p $(STUDENT_VENV)/share/jupyter/lab/settings
	@echo '{"@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": true}}' \
	  > $(STUDENT_VENV)/share/jupyter/lab/settings/overrides.json
	@touch $@

run: $(VENV)/.run-deps
	$(PY) -m course_utils.compare

# Debian packages, installed here where we can (root on Debian, quietly): bubblewrap, the grader's sandbox;
# chromium, the headless browser of tests/test_browser.py (driven by Playwright; never `playwright install`).
system-deps:
	@missing=""; \
	command -v bwrap >/dev/null 2>&1 || missing="$$missing bubblewrap"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing (the grader's sandbox, the browser test's browser)"; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "note: missing$$missing: without bubblewrap the grader is not sandboxed, without chromium" \
	    "the browser test is skipped (apt-get install$$missing)"; fi; \
	fi

test: $(VENV)/.dev-deps system-deps
	$(PY) -m pytest -n auto --dist loadfile

lab: $(STUDENT_VENV)/.lab-deps
	$(STUDENT_VENV)/bin/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root) notebooks/

notebooks: $(VENV)/.grading-deps
	$(PY) -m autograder release

# Instructors (no virtual environment to activate): release, grade a folder of submissions, nbgrader.
SUBMISSIONS ?= submitted
OUT         ?= grades.csv
release: notebooks

grade: $(VENV)/.grading-deps system-deps
	$(PY) -m autograder grade-all $(SUBMISSIONS) --out $(OUT) $(GRADE_FLAGS)

autograde: $(VENV)/.grading-deps system-deps
	@test -n "$(ASSIGNMENT)" || { echo "usage: make autograde ASSIGNMENT=01_perturbation"; exit 2; }
	$(PY) -m autograder release $(ASSIGNMENT)     # records the assignment in the gradebook (deterministic)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m nbgrader autograde $(ASSIGNMENT) $(NBGRADER_FLAGS)

# Gradescope's autograder zip (setup.sh, run_autograder, the course package and the grader): dist/gradescope/
gradescope: $(VENV)/.grading-deps
	@test -n "$(ASSIGNMENT)" || { echo "usage: make gradescope ASSIGNMENT=01_perturbation [SECRET=course.secret]"; exit 2; }
	$(PY) -m autograder gradescope $(ASSIGNMENT) --out dist/gradescope/$(ASSIGNMENT).zip $(if $(SECRET),--secret-file $(SECRET))

# The book: the student notebooks run (full mode; FAST=1 for the tests' fast mode; cached in
# ~/.cache/course-utils/book), then Sphinx. Publish book/_build/html (README: GitHub Pages).
book: $(VENV)/.book-deps
	$(PY) book/build.py $(if $(FAST),--fast)

# Where the course lives ([tool.course] in pyproject.toml), then the notebooks' links and first cell.
configure: $(VENV)/.grading-deps
	@test -n "$(REPO)" || { echo "usage: make configure REPO=OWNER/NAME [BOOK_URL=https://OWNER.github.io/NAME/]"; exit 2; }
	$(PY) -m autograder configure --repo "$(REPO)" $(if $(BOOK_URL),--book-url "$(BOOK_URL)")
	$(PY) -m autograder release

benchmark: $(VENV)/.run-deps
	$(PY) benchmarks/bench_rules.py

student-edition: $(VENV)/.dev-deps
	$(PY) -m autograder student-edition dist/student-edition

clean:
	rm -rf $(VENV) .venv-student .pytest_cache outputs gradebook.db dist book/_build
