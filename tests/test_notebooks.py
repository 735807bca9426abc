"""Every tutorial, end to end: the student version is in sync with solutions/; the solution runs top to
bottom in fast mode; nbgrader autogrades (through the course's sandboxed grader) the solution with full
marks and the student version with zero, exercise for exercise as the standalone grader does."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.nbgrader_grading import CHECKS
from autograder.release import assignments, release

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENTS = assignments(REPO)


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
def test_solution_runs_top_to_bottom_without_errors(name, tmp_path):
    """As nbgrader's validate runs it in the student's kernel: fast mode, NBGRADER_EXECUTION set."""
    import nbclient
    nb = nbformat.read(str(REPO / "solutions" / name / f"{name}.ipynb"), as_version=4)
    os.environ["NBGRADER_EXECUTION"] = "validate"
    try:
        nbclient.NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        del os.environ["NBGRADER_EXECUTION"]
    errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(nb.cells)
              if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    # graded cells must stay silent on stderr (nbgrader zeroes a passing cell that writes there)
    noisy = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
             if c.metadata.get("nbgrader", {}).get("grade") and any(
                 o.output_type == "stream" and o.name == "stderr" for o in c.get("outputs", []))]
    assert not noisy, noisy


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_student_version_runs_all_to_the_end(name, tmp_path):
    """Run All in the student's own kernel, every exercise unsolved: each check shows its red line and
    the notebook goes on (figures, widgets, the reference stand-ins), with no error anywhere."""
    import nbclient
    nb = nbformat.read(str(REPO / "notebooks" / name / f"{name}.ipynb"), as_version=4)
    nbclient.NotebookClient(nb, timeout=900, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(nb.cells)
              if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    checks = [o for c in nb.cells if c.cell_type == "code" and "assert_exercise(" in c.source
              for o in c.get("outputs", []) if o.output_type == "display_data"]
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(checks) == len(graded) > 0
    assert all(o["data"]["text/plain"].startswith("FAIL") and "not implemented" in o["data"]["text/plain"]
               for o in checks)


def test_nbgrader_scores_equal_the_standalone_grader(course):
    from nbgrader.api import Gradebook
    from autograder.notebook_grading import grade_notebook
    name, root, proc = course
    report = grade_notebook(root / "submitted" / "alice" / name / f"{name}.ipynb")
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


def test_standalone_grader_agrees(course):
    name, root, _ = course
    scores = {}
    for kind, path in (("solution", REPO / "solutions" / name / f"{name}.ipynb"),
                       ("student", REPO / "notebooks" / name / f"{name}.ipynb")):
        proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(path), "--json"],
                              capture_output=True, text=True, cwd=REPO, timeout=900)
        assert proc.returncode == 0, proc.stderr
        scores[kind] = json.loads(proc.stdout)
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
