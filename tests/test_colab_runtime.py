"""Colab, proven against Colab's own runtime (tests/colab_runtime.py builds it from Colab's published
package list, tests/colab/pip-freeze.txt, and caches it).

- The environment holds Colab's versions, and nothing Colab does not ship.
- pip, asked against the package registry what the first cell's install (the course's requirements
  and ipytest) would do in Colab, adds only what Colab lacks and changes no package Colab ships.
- The first cell itself, run on a kernel of that environment as Colab runs it, installs the course
  (a wheel of this checkout) and ipytest and changes the version of no package: IPython, ipykernel,
  ipywidgets, NumPy, JAX and Matplotlib above all.
- The grader reads cells as it does with this environment's IPython (IPython 7's TransformerManager).
- Without ipywidgets, an explorer shows its static figure and says so in one line.

Every notebook then runs on such a kernel in tests/test_notebooks.py (and its explorers react there).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import colab_runtime as colab
from autograder.release import settings_for, stamp

REPO = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")
INSTALLING = "Installing the course package (about a minute)..."
NAMES = sorted(p.parent.name for p in (REPO / "notebooks").glob("*/*.ipynb"))


def _unavailable(reason):
    if IN_CI:
        pytest.fail(f"Colab's runtime could not be built: {reason}")
    pytest.skip(f"Colab's runtime could not be built: {reason}")


@pytest.fixture(scope="module")
def base():
    python = colab.find_python()
    if python is None:
        _unavailable(f"no Python {colab.PYTHON_VERSION} (set COLAB_PYTHON, or `pyenv install {colab.PYTHON_VERSION}`)")
    try:
        return colab.base_env(python)
    except RuntimeError as err:
        _unavailable(err)


def first_code_cell(nb):
    return next(c for c in nb.cells if c.cell_type == "code")


@pytest.fixture(scope="module")
def first_cell_run(base, tmp_path_factory):
    """A fresh environment on the base; the versions it sees; the first cell of a student notebook run on
    its kernel as in Colab, then a probe; the versions after."""
    from test_packaging import build_wheel
    tmp = tmp_path_factory.mktemp("colab")
    wheel = build_wheel(tmp / "wheel")
    env = colab.overlay(base, tmp / "env")
    before = colab.installed(env / "bin" / "python")
    student = nbformat.read(str(REPO / "notebooks" / NAMES[0] / f"{NAMES[0]}.ipynb"), as_version=4)
    nb = nbformat.v4.new_notebook(metadata=student.metadata)
    nb.cells = [first_code_cell(stamp(student, NAMES[0], settings_for("someone/somewhere", install=str(wheel))))]
    nb.cells.append(nbformat.v4.new_code_cell(
        "import json, sys, IPython, ipykernel, ipywidgets, numpy, jax, matplotlib, course_utils, autograder, ipytest\n"
        "print(json.dumps({'python': sys.version.split()[0], 'colab': 'google.colab' in sys.modules,\n"
        "                  'course_utils': course_utils.__file__, 'versions': {m.__name__: m.__version__ for m in\n"
        "                  (IPython, ipykernel, ipywidgets, numpy, jax, matplotlib)}}))"))
    (tmp / "work").mkdir()
    colab.execute(nb, base, env, tmp / "work")
    after = colab.installed(env / "bin" / "python")
    return {"env": env, "before": before, "after": after, "nb": nb, "report": base.report}


def test_the_environment_holds_colabs_versions(base):
    pins = colab.freeze_pins()
    found = colab.installed(base.python)
    assert set(found) <= set(pins), f"not in Colab: {sorted(set(found) - set(pins))}"
    wrong = {name: (versions, pins[name]) for name, versions in found.items() if versions != [pins[name]]}
    assert not wrong, wrong
    for name in colab.NAMED:
        assert found[name] == [pins[name]], name
    assert (pins["ipython"], pins["ipywidgets"], pins["ipykernel"]) == ("7.34.0", "7.7.1", "6.17.1")
    assert colab.python_version(str(base.python)).startswith(colab.PYTHON_VERSION + ".")
    # what the course requires is all there, at Colab's version: the install has nothing to resolve
    assert {colab.requirement_name(r) for r in colab.course_requirements()} <= set(found)


def test_pip_resolves_the_first_cells_install_without_touching_colab(base):
    """pip's own dry run against the registry, made when the environment was built: in Colab, the first
    cell's requirements add ipytest (and jedi, which Colab leaves out although its IPython requires it) and
    change nothing (with the course's former ipython>=8 it would install IPython 9 and a new traitlets)."""
    pins = colab.freeze_pins()
    added = {colab.canonical(item["metadata"]["name"]): item["metadata"]["version"] for item in base.report["install"]}
    assert "ipytest" in added, added
    assert not set(added) & set(pins), {name: (pins[name], added[name]) for name in set(added) & set(pins)}


def test_the_first_cell_installs_the_course_and_changes_no_package(first_cell_run):
    nb, before, after = first_cell_run["nb"], first_cell_run["before"], first_cell_run["after"]
    assert not colab.errors(nb), colab.errors(nb)
    printed = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.output_type == "stream")
    assert printed.splitlines() == [INSTALLING, "Installed."], printed
    changed = {name: (versions, after.get(name)) for name, versions in before.items() if after.get(name) != versions}
    assert not changed, f"the install changed Colab's packages: {changed}"
    # what came in: the course, and what pip's dry run said Colab lacks (ipytest; jedi, which Colab leaves out
    # although its IPython requires it): none of it a package Colab ships
    lacking = {colab.canonical(item["metadata"]["name"]) for item in first_cell_run["report"]["install"]}
    assert {"course-utils", "ipytest"} <= set(after) - set(before) <= lacking | {"course-utils"}, \
        sorted(set(after) - set(before))
    assert not (set(after) - set(before)) & set(colab.freeze_pins())
    probe = json.loads(nb.cells[1].outputs[-1]["text"].strip().splitlines()[-1])
    pins = colab.freeze_pins()
    assert probe["colab"] and probe["python"].startswith(colab.PYTHON_VERSION + "."), probe
    assert probe["versions"] == {name if name != "ipython" else "IPython": pins[name] for name in colab.NAMED}
    assert Path(probe["course_utils"]).is_relative_to(first_cell_run["env"]), probe


def test_every_notebook_has_that_first_cell():
    """What was proven for one first cell holds for all: they are the same code."""
    cells = {first_code_cell(nbformat.read(str(REPO / "notebooks" / n / f"{n}.ipynb"), as_version=4)).source
             for n in NAMES}
    assert len(cells) == 1 and len(NAMES) >= 6


def test_the_grader_reads_cells_as_with_ipython_7(first_cell_run):
    """The grader turns cells into Python with IPython's TransformerManager (magics become calls): under
    Colab's IPython 7.34 it gives what this environment's IPython gives, for every cell of the course."""
    cells = [c.source for n in NAMES for c in nbformat.read(str(REPO / "solutions" / n / f"{n}.ipynb"),
                                                             as_version=4).cells if c.cell_type == "code"]
    cells += ["%%ipytest -qq\ndef test_x():\n    assert 1", "%matplotlib inline\nx = 1", "!pip --version", "x?"]
    code = ("import json, sys\nfrom IPython.core.inputtransformer2 import TransformerManager\n"
            "print(json.dumps([TransformerManager().transform_cell(s) for s in json.load(sys.stdin)]))")
    results = []
    for python in (first_cell_run["env"] / "bin" / "python", sys.executable):
        proc = subprocess.run([str(python), "-c", code], input=json.dumps(cells), capture_output=True, text=True,
                              timeout=300, env=colab.pip_env(), cwd=first_cell_run["env"])
        assert proc.returncode == 0, proc.stderr[-2000:]
        results.append(json.loads(proc.stdout))
    different = [(cell[:80], a, b) for cell, a, b in zip(cells, *results) if a != b]
    assert not different, different[:3]


def test_without_ipywidgets_an_explorer_shows_its_static_figure_in_one_line(monkeypatch, capsys):
    import IPython.display
    import matplotlib.figure
    import numpy as np

    from course_utils import widgets
    from course_utils.mlp import init_mlp

    shown = []
    monkeypatch.setitem(sys.modules, "ipywidgets", None)           # `import ipywidgets` fails
    monkeypatch.setattr(IPython.display, "display", lambda obj, **_: shown.append(obj))
    rng = np.random.default_rng(0)
    params = init_mlp(rng, sizes=(6, 4, 3), activation="sigmoid")
    x, y = rng.normal(size=(5, 6)), np.eye(3)[rng.integers(0, 3, 5)]
    assert widgets.perturbation_explorer(params, x, y) is None
    assert len(shown) == 1 and isinstance(shown[0], matplotlib.figure.Figure)
    assert capsys.readouterr().out.splitlines() == [widgets.NO_WIDGETS]
