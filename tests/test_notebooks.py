"""Every tutorial, end to end: the student version is in sync with solutions/; the solution and the
student version run top to bottom in fast mode on a kernel of Colab's runtime (tests/colab_runtime.py:
Colab's versions of every package the course touches, the course installed by the notebook's own first
cell), where every explorer's widget, under Colab's ipywidgets 7, redraws when a control moves; nbgrader
autogrades (through the course's sandboxed grader) the solution with full marks and the student version
with zero, exercise for exercise as the standalone grader does.

Each notebook runs once here, in Colab's runtime; the browser test runs the student versions again in
JupyterLab on this environment (ipywidgets 8). Where no Python 3.13 (Colab's) is found, or its packages
cannot be fetched, the runs use this environment's kernel and say so in a warning; under CI they fail.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import pytest

import colab_runtime
from autograder.nbgrader_grading import CHECKS
from autograder.release import assignments, release, settings_for, stamp

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENTS = assignments(REPO)
IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
EXPLORER = re.compile(r"\b\w+\.\w+_explorer\(")             # a cell that shows an explorer

# Appended to each student notebook: move the first control of every explorer (a VBox of controls, a
# hint and an Output) in the kernel, as a slider does, then (next cell, once the front end, here
# nbclient, has sent back what the Output captured) report what each Output holds, as one JSON line.
MOVE_CONTROLS = """\
import ipywidgets
try:
    _live = list(ipywidgets.Widget.widgets.values())                    # ipywidgets 7
except AttributeError:
    from ipywidgets.widgets.widget import _instances as _instances      # ipywidgets 8
    _live = list(_instances.values())
_explorers = [w for w in _live if isinstance(w, ipywidgets.VBox) and len(w.children) == 3
              and isinstance(w.children[0], ipywidgets.HBox) and isinstance(w.children[2], ipywidgets.Output)]
for _box in _explorers:
    _control = _box.children[0].children[0]
    if hasattr(_control, "options"):
        _control.index = (_control.index + 1) % len(_control.options)
    else:
        _low = _control.base ** _control.min if hasattr(_control, "base") else _control.min
        _high = _control.base ** _control.max if hasattr(_control, "base") else _control.max
        _control.value = _low if abs(_control.value - _low) > 1e-12 else _high
"""
# written to a file in the kernel's folder, not printed: a printed line has once gone missing from the
# cell's outputs (the output widgets' capture in the client), and the check is about the widgets
REPORT_OUTPUTS = """\
import json
with open({path!r}, "w") as _f:
    json.dump({{"ipywidgets": ipywidgets.__version__, "explorers": [
        [sorted(o.get("data", {{}})) for o in _box.children[2].outputs] for _box in _explorers]}}, _f)
"""


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    """Runs a notebook: on a kernel of Colab's runtime, the course installed there by the notebook's first
    cell from a wheel of this checkout; or, where that runtime is not to be had, on this environment's."""
    from test_packaging import build_wheel
    tmp = tmp_path_factory.mktemp("runtime")
    try:
        base = colab_runtime.base_env()
    except Exception as err:  # no Python 3.13, or no registry: say so, and run the checks here
        if IN_CI:
            pytest.fail(f"Colab's runtime could not be built: {err}")
        warnings.warn(f"the notebooks ran in this environment's kernel, not Colab's runtime: {err}")
        return Runner(None, None, None, tmp)
    wheel = build_wheel(tmp / "wheel")
    return Runner(base, colab_runtime.overlay(base, tmp / "env"), settings_for("someone/somewhere", install=str(wheel)),
                  tmp)


class Runner:
    def __init__(self, base, env, settings, tmp):
        self.base, self.env, self.settings, self.tmp = base, env, settings, tmp
        self.colab = base is not None

    def run(self, nb, name, **env):
        """Execute ``nb`` (in place), first cell included, in fast mode; ``env`` for the kernel."""
        import nbclient
        work = self.tmp / "work"
        work.mkdir(exist_ok=True)
        if self.colab:
            stamp(nb, name, self.settings)                   # the first cell installs this checkout's wheel
            return colab_runtime.execute(nb, self.base, self.env, work, **env)
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            nbclient.NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=True,
                                    resources={"metadata": {"path": str(work)}}).execute()
        finally:
            for k, v in saved.items():
                os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
        return nb


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def course(request, tmp_path_factory):
    """A throwaway nbgrader course: release, two submissions (alice: solution, bob: student), autograde."""
    name = request.param
    root = tmp_path_factory.mktemp(name)
    shutil.copytree(REPO / "solutions" / name, root / "solutions" / name)
    release([name], root=root)
    for student, source in (("alice", root / "solutions"), ("bob", root / "notebooks")):
        target = root / "submitted" / student / name
        target.mkdir(parents=True)
        shutil.copy(source / name / f"{name}.ipynb", target / f"{name}.ipynb")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("COURSE_FAST", None)  # nbgrader's own NBGRADER_EXECUTION must select fast mode
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", "autograde", name, "--force",
         f"--CourseDirectory.root={root}", f"--CourseDirectory.db_url=sqlite:///{root}/.cache/gradebook.db"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    return name, root, proc


def test_student_version_is_generated_from_solutions(course):
    name, root, _ = course
    fresh = (root / "notebooks" / name / f"{name}.ipynb").read_text()
    committed = (REPO / "notebooks" / name / f"{name}.ipynb").read_text()
    assert fresh == committed, f"notebooks/{name} is out of date: run `make notebooks`"


def test_nbgrader_autogrades_solution_full_and_student_zero(course):
    from nbgrader.api import Gradebook
    name, root, proc = course
    assert proc.returncode == 0, proc.stderr[-2000:]
    with Gradebook(f"sqlite:///{root}/.cache/gradebook.db") as gb:
        alice = gb.find_submission(name, "alice")
        bob = gb.find_submission(name, "bob")
        assert alice.max_score > 0 and alice.score == alice.max_score, [
            (g.name, g.score, g.max_score) for nb in alice.notebooks for g in nb.grades]
        assert bob.score == 0


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_runs_top_to_bottom_without_errors(name, runtime):
    """As nbgrader's validate runs it in the student's kernel: fast mode, NBGRADER_EXECUTION set."""
    nb = nbformat.read(str(REPO / "solutions" / name / f"{name}.ipynb"), as_version=4)
    runtime.run(nb, name, NBGRADER_EXECUTION="validate")
    errors = colab_runtime.errors(nb)
    assert not errors, errors
    # graded cells must stay silent on stderr (nbgrader zeroes a passing cell that writes there)
    noisy = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
             if c.metadata.get("nbgrader", {}).get("grade") and any(
                 o.output_type == "stream" and o.name == "stderr" for o in c.get("outputs", []))]
    assert not noisy, noisy


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_student_version_runs_all_to_the_end(name, runtime):
    """Run All in the student's own kernel, every exercise unsolved: each check shows its red line and
    the notebook goes on (figures, widgets, the reference stand-ins), with no error anywhere. Then every
    explorer, built under the runtime's ipywidgets, redraws its figure when its first control moves."""
    nb = nbformat.read(str(REPO / "notebooks" / name / f"{name}.ipynb"), as_version=4)
    explorers = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and EXPLORER.search(c.source)]
    report_file = runtime.tmp / f"{name}-explorers.json"
    nb.cells += [nbformat.v4.new_code_cell(MOVE_CONTROLS),
                 nbformat.v4.new_code_cell(REPORT_OUTPUTS.format(path=str(report_file)))]
    runtime.run(nb, name)
    errors = colab_runtime.errors(nb)
    assert not errors, errors
    checks = [o for c in nb.cells if c.cell_type == "code" and "assert_exercise(" in c.source
              for o in c.get("outputs", []) if o.output_type == "display_data"]
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(checks) == len(graded) > 0
    assert all(o["data"]["text/plain"].startswith("FAIL") and "not implemented" in o["data"]["text/plain"]
               for o in checks)
    if runtime.colab:                  # the first cell installed the course, and said so
        printed = "".join(o.get("text", "") for o in nb.cells[[c.cell_type for c in nb.cells].index("code")].outputs)
        assert printed in ("", "Installing the course package (about a minute)...\nInstalled.\n"), printed

    # every explorer: its static figure and its live widget; each redrew when its control moved
    for i in explorers:
        kinds = [sorted(o.get("data", {})) for o in nb.cells[i].outputs]
        assert ["image/png", "text/plain"] in kinds and any(WIDGET_VIEW in k for k in kinds), (i, kinds)
    report = json.loads(report_file.read_text())
    if runtime.colab:
        assert report["ipywidgets"] == colab_runtime.freeze_pins()["ipywidgets"], report
    assert len(report["explorers"]) == len(explorers), report
    assert all(["image/png", "text/plain"] in outputs for outputs in report["explorers"]), report


@pytest.fixture(scope="module")
def standalone(course):
    """``python -m autograder grade NB --json`` on the solution and on the student version, as an instructor
    runs it: {"solution": report, "student": report} (alice submitted a copy of the solution)."""
    name = course[0]
    scores = {}
    for kind, path in (("solution", REPO / "solutions" / name / f"{name}.ipynb"),
                       ("student", REPO / "notebooks" / name / f"{name}.ipynb")):
        proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(path), "--json"],
                              capture_output=True, text=True, cwd=REPO, timeout=900)
        assert proc.returncode == 0, proc.stderr
        scores[kind] = json.loads(proc.stdout)
    return scores


def test_nbgrader_scores_equal_the_standalone_grader(course, standalone):
    from nbgrader.api import Gradebook
    name, root, proc = course
    assert (root / "submitted" / "alice" / name / f"{name}.ipynb").read_bytes() == \
        (REPO / "solutions" / name / f"{name}.ipynb").read_bytes()
    report = standalone["solution"]
    with Gradebook(f"sqlite:///{root}/.cache/gradebook.db") as gb:
        grades = {g.name: g.score for nb in gb.find_submission(name, "alice").notebooks for g in nb.grades}
    solution = nbformat.read(str(REPO / "solutions" / name / f"{name}.ipynb"), as_version=4)
    checks = {c.metadata["nbgrader"]["grade_id"]: CHECKS.findall(c.source)[0] for c in solution.cells
              if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}
    standalone = {grade_id: report["exercises"][exercise]["score"] for grade_id, exercise in checks.items()}
    assert sorted(checks.values()) == sorted(report["exercises"])
    assert grades == standalone
    # the graded cells of the autograded notebook carry the grader's feedback, not a raw Result(...)
    autograded = nbformat.read(str(root / "autograded" / "alice" / name / f"{name}.ipynb"), as_version=4)
    texts = [o.get("text", "") for c in autograded.cells if c.metadata.get("nbgrader", {}).get("grade")
             and c.cell_type == "code" for o in c.outputs]
    assert texts and all("correct" in t for t in texts), texts


def test_standalone_grader_agrees(course, standalone):
    name, root, _ = course
    scores = standalone
    assert scores["solution"]["score"] == scores["solution"]["max_score"] > 0, scores["solution"]
    assert scores["student"]["score"] == 0, scores["student"]
    # the graded cells' points in the notebook equal the exercises' points in the grader
    nb = nbformat.read(str(REPO / "solutions" / name / f"{name}.ipynb"), as_version=4)
    points = sum(c.metadata["nbgrader"]["points"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))
    assert points == scores["solution"]["max_score"]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_think_questions_have_example_answers_that_students_never_see(name):
    """Every Think! question is followed by its example answer in solutions/; the student version has an
    empty answer cell there, and no word of any example answer."""
    from autograder.release import ANSWER_PROMPT, is_example_answer
    solution = nbformat.read(str(REPO / "solutions" / name / f"{name}.ipynb"), as_version=4)
    student = nbformat.read(str(REPO / "notebooks" / name / f"{name}.ipynb"), as_version=4)
    questions = [i for i, c in enumerate(solution.cells)
                 if c.cell_type == "markdown" and c.source.lstrip().startswith("### Think!")]
    answers = [c for c in solution.cells if is_example_answer(c)]
    assert len(questions) >= 2 and len(answers) == len(questions), (questions, len(answers))
    assert all(is_example_answer(solution.cells[i + 1]) for i in questions)
    text = "\n".join(c.source for c in student.cells)
    for answer in answers:
        body = [line for line in answer.source.splitlines() if len(line) > 40 and "<" not in line]
        assert body and not any(line in text for line in body), name
    prompts = [c for c in student.cells if c.cell_type == "markdown" and c.source == ANSWER_PROMPT]
    assert len(prompts) == len(answers)
