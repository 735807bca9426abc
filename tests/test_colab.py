"""Colab and Kaggle: every student notebook's first cell, run as Colab runs it (a `google.colab` module
loaded, no course package) or as Kaggle does (KAGGLE_KERNEL_RUN_TYPE set), installs the package from the
one setting ([tool.course] in pyproject.toml, stamped in by the release step) and nothing else; a bad
setting fails in one clear line, and so does the OWNER/REPO placeholder, before pip runs; locally the
cell does nothing. Every notebook opens with the Colab and Kaggle links built from that setting.

These run in an ordinary environment with a stand-in `google.colab`; tests/test_colab_runtime.py runs
the same cell in Colab's own versions of the packages.
"""
import copy
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.release import assignments, colab_url, course_settings, course_urls, settings_for, stamp
from test_packaging import build_wheel, clean_env, fresh_env

REPO = Path(__file__).resolve().parents[1]
NAMES = assignments(REPO)
SOMEWHERE = "someone/somewhere"
INSTALLING = "Installing the course package (about a minute)..."


def settings(install: str) -> dict:
    return settings_for(SOMEWHERE, install=install)

# Runs one cell as a notebook would (IPython), then says what happened, as one JSON line on stdout.
RUNNER = '''
import json, sys
from IPython.core.interactiveshell import InteractiveShell
source = open(sys.argv[1]).read()
result = InteractiveShell.instance().run_cell(source)
error = result.error_before_exec or result.error_in_exec
try:
    import course_utils, autograder, ipytest
    where = course_utils.__file__
except ImportError:
    where = None
print("\\n" + json.dumps({"error": None if error is None else [type(error).__name__, str(error)],
                          "course_utils": where}))
'''


def student_notebook(name):
    return nbformat.read(str(REPO / "notebooks" / name / f"{name}.ipynb"), as_version=4)


def first_code_cell(nb):
    return next(c for c in nb.cells if c.cell_type == "code").source


def run_first_cell(python, nb, tmp_path, colab=True, **env):
    """Run the notebook's first code cell with ``python`` in a folder outside the repository."""
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    (work / "cell.py").write_text(first_code_cell(nb))
    (work / "runner.py").write_text(RUNNER)
    extra = {"PIP_NO_INDEX": "1", **env}  # never the network: what the cell needs is here or it fails
    if colab:
        fake = tmp_path / "colab"  # `google` stays a namespace package: google.protobuf and co still import
        (fake / "google" / "colab").mkdir(parents=True, exist_ok=True)
        (fake / "google" / "colab" / "__init__.py").write_text('"""A stand-in for Colab\'s module."""\n')
        extra["PYTHONPATH"] = str(fake)
    script = f"import google.colab\nexec(open({str(work / 'runner.py')!r}).read())" if colab else \
        f"exec(open({str(work / 'runner.py')!r}).read())"
    proc = subprocess.run([str(python), "-c", script, str(work / "cell.py")], capture_output=True, text=True,
                          cwd=work, env=clean_env(**extra), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    return json.loads(lines[-1]), lines[:-1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.mark.parametrize("name,where", [(name, "colab") for name in NAMES] + [(NAMES[0], "kaggle")])
def test_in_colab_the_first_cell_installs_the_package_from_the_setting(name, where, wheel, tmp_path):
    python, site = fresh_env(tmp_path / "env")
    nb = stamp(student_notebook(name), name, settings(str(wheel)))
    assert f"COURSE_INSTALL = {json.dumps(str(wheel))}" in first_code_cell(nb)
    before, _ = run_first_cell(python, student_notebook(name), tmp_path, colab=False)
    assert before["course_utils"] is None  # the fresh environment has no course package

    hosted = {"colab": True} if where == "colab" else {"colab": False, "KAGGLE_KERNEL_RUN_TYPE": "Interactive"}
    outcome, printed = run_first_cell(python, nb, tmp_path, **hosted)
    assert outcome["error"] is None, outcome
    assert Path(outcome["course_utils"]).is_relative_to(site), outcome
    assert [line for line in printed if line.strip()] == [INSTALLING, "Installed."]
    # Only the course package went in: no extras, no JupyterLab (Colab has the rest).
    installed = {p.name.split("-")[0] for p in site.glob("*.dist-info")}
    assert installed == {"course_utils"}, installed

    again, printed = run_first_cell(python, nb, tmp_path, **hosted)  # installed: the cell now does nothing
    assert again["error"] is None and printed == [], (again, printed)


def test_in_colab_a_bad_setting_fails_in_one_clear_line(tmp_path):
    python, _ = fresh_env(tmp_path / "env")
    missing = tmp_path / "nowhere" / "course_utils-0.1.0-py3-none-any.whl"
    nb = stamp(student_notebook(NAMES[0]), NAMES[0], settings(str(missing)))
    outcome, _ = run_first_cell(python, nb, tmp_path)
    kind, message = outcome["error"]
    assert kind == "RuntimeError" and "\n" not in message, outcome
    assert str(missing) in message and "[tool.course]" in message and "make release" in message, message
    assert "autograder configure" in message and "Kaggle" not in message, message
    assert outcome["course_utils"] is None


def test_with_the_placeholder_the_first_cell_says_what_to_set(tmp_path):
    """The released notebooks of a course nobody has configured yet: one line, before pip runs."""
    python, _ = fresh_env(tmp_path / "env")
    placeholder = course_settings(REPO) if "OWNER/REPO" in course_settings(REPO)["repository"] \
        else settings_for("OWNER/REPO")
    nb = stamp(student_notebook(NAMES[0]), NAMES[0], placeholder)
    outcome, printed = run_first_cell(python, nb, tmp_path)
    kind, message = outcome["error"]
    assert kind == "RuntimeError" and "\n" not in message, outcome
    assert "repository" in message and "[tool.course]" in message and "autograder configure --repo" in message
    assert "make release" in message and INSTALLING not in printed, printed  # no pip


def test_locally_the_first_cell_does_nothing_or_says_make_lab(tmp_path):
    nb = student_notebook(NAMES[0])
    outcome, printed = run_first_cell(sys.executable, nb, tmp_path, colab=False)  # course_utils is here
    assert outcome["error"] is None and outcome["course_utils"] and printed == [], (outcome, printed)
    python, _ = fresh_env(tmp_path / "env")
    outcome, _ = run_first_cell(python, nb, tmp_path, colab=False)
    assert outcome["error"][0] == "ImportError" and "make lab" in outcome["error"][1], outcome


@pytest.mark.parametrize("name", NAMES)
def test_every_notebook_carries_the_setting_and_the_colab_link(name):
    settings = course_settings(REPO)
    nb = student_notebook(name)
    assert nb.cells[0].cell_type == "markdown"
    assert f"({colab_url(name, settings)})" in nb.cells[0].source
    assert f"({course_urls(name, settings)['kaggle']})" in nb.cells[0].source
    assert colab_url(name, settings) == f"{settings['colab_base']}/notebooks/{name}/{name}.ipynb"
    assert f"COURSE_INSTALL = {json.dumps(settings['install'])}\n" in first_code_cell(nb)
    assert "jupyterlab" not in first_code_cell(nb).lower() and "%pip" not in first_code_cell(nb)
    # stamping is idempotent: releasing twice gives the same notebook
    assert stamp(copy.deepcopy(nb), name, settings) == nb
    # the solution's first cell is the same code, with a marker where the setting goes
    solution = nbformat.read(str(REPO / "solutions" / name / f"{name}.ipynb"), as_version=4)
    assert "COURSE_INSTALL = " in first_code_cell(solution)
    assert first_code_cell(stamp(solution, name, settings)) == first_code_cell(nb)


def test_the_setting_is_required(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.course]\ninstall = "course-utils"\n')
    with pytest.raises(RuntimeError, match="repository.*autograder configure"):
        course_settings(tmp_path)


def test_everything_follows_from_the_repository(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.course]\nrepository = "ada/neuro-course"\nbranch = "fall"\n'
                                              'book_url = "https://ada.github.io/neuro-course/"\n')
    settings = course_settings(tmp_path)
    assert settings["install"] == "course-utils @ git+https://github.com/ada/neuro-course@fall"
    urls = course_urls("01_perturbation", settings)
    path = "ada/neuro-course/blob/fall/notebooks/01_perturbation/01_perturbation.ipynb"
    assert urls["colab"] == f"https://colab.research.google.com/github/{path}"
    assert urls["kaggle"] == f"https://kaggle.com/kernels/welcome?src=https://github.com/{path}"
    assert urls["issue"].startswith("https://github.com/ada/neuro-course/issues/new?title=")
    assert urls["book"] == "https://ada.github.io/neuro-course/01_perturbation.html"
    # an explicit install (a wheel's address) and the older form with colab_base still work
    (tmp_path / "pyproject.toml").write_text('[tool.course]\ninstall = "https://example.org/c.whl"\ncolab_base = '
                                              '"https://colab.research.google.com/github/ada/old/blob/main"\n')
    settings = course_settings(tmp_path)
    assert settings["install"] == "https://example.org/c.whl" and settings["repository"] == "ada/old"
    assert "issue" not in course_urls("01_perturbation", settings_for("OWNER/REPO"))
