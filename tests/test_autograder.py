"""The autograder: diagnosis of typical mistakes, coercion, isolation of one exercise from another,
and the command-line contract."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import check_exercise
from autograder.core import OutputError, normalise
from autograder.exercises import EXERCISES
from autograder.exercises import perturbation as ex
from course_utils import perturbation as ref

REPO = Path(__file__).resolve().parents[1]
SOLUTION = REPO / "solutions" / "01_perturbation" / "01_perturbation.ipynb"
STUDENT = REPO / "notebooks" / "01_perturbation" / "01_perturbation.ipynb"


def test_every_reference_passes_its_own_check():
    for exercise in EXERCISES.values():
        result = check_exercise(exercise.id, exercise.reference, as_graded=False)
        assert result.passed, (exercise.id, result.feedback)


def test_every_exercise_has_varied_fixtures():
    for exercise in EXERCISES.values():
        fixtures = exercise.fixtures()
        assert len(fixtures) >= 3, exercise.id
        labels = {f.label for f in fixtures}
        assert len(labels) == len(fixtures), exercise.id


def test_every_known_mistake_is_caught_and_named():
    # each wrong variant, submitted as an answer, scores zero and is named in the feedback
    for exercise in EXERCISES.values():
        for mistake in exercise.mistakes:
            result = check_exercise(exercise.id, mistake.function)
            assert not result.passed, (exercise.id, mistake.name)
            assert result.feedback.startswith(mistake.name) or mistake.name in result.feedback, (
                exercise.id, mistake.name, result.feedback)


# Hand-written wrong answers for tutorial 01, each with the words its feedback must contain.
def wp_sign(params, x, y, perturbations, sigma, activation="sigmoid"):
    g = ref.weight_perturbation_gradient(params, x, y, perturbations, sigma, activation)
    return {k: -v for k, v in g.items()}


def np_sum(params, x, y, node_noise, sigma, activation="sigmoid"):
    g = ref.node_perturbation_gradient(params, x, y, node_noise, sigma, activation)
    return {k: v * x.shape[0] for k, v in g.items()}


def np_transposed(params, x, y, node_noise, sigma, activation="sigmoid"):
    g = ref.node_perturbation_gradient(params, x, y, node_noise, sigma, activation)
    return {k: v.T for k, v in g.items()}


def np_missing_bias(params, x, y, node_noise, sigma, activation="sigmoid"):
    g = ref.node_perturbation_gradient(params, x, y, node_noise, sigma, activation)
    return {"W1": g["W1"], "W2": g["W2"]}


def np_wrong_shape(params, x, y, node_noise, sigma, activation="sigmoid"):
    g = ref.node_perturbation_gradient(params, x, y, node_noise, sigma, activation)
    return {k: v.ravel() for k, v in g.items()}


def np_always_sigmoid(params, x, y, node_noise, sigma, activation="sigmoid"):
    return ref.node_perturbation_gradient(params, x, y, node_noise, sigma, "sigmoid")


def snr_no_abs(samples):
    s = np.asarray(samples)
    used = s.std(0) > 0
    return float(np.mean(s.mean(0)[used] / s.std(0)[used]))


@pytest.mark.parametrize("exercise_id,answer,words", [
    ("perturbation.weight_perturbation", wp_sign, "wrong sign"),
    ("perturbation.node_perturbation", np_sum, "sum instead of mean"),
    ("perturbation.node_perturbation", np_transposed, "transposed"),
    ("perturbation.node_perturbation", np_missing_bias, "no entry b1"),
    ("perturbation.node_perturbation", np_wrong_shape, "has shape"),
    ("perturbation.node_perturbation", np_always_sigmoid, "relu"),
    ("perturbation.gradient_snr", snr_no_abs, "missing absolute value"),
])
def test_hand_written_mistakes_get_named_feedback(exercise_id, answer, words):
    result = check_exercise(exercise_id, answer, as_graded=False)   # (built on the reference, for brevity)
    assert result.score == 0 and words in result.feedback, result.feedback


def test_answers_are_coerced_to_float_arrays():
    class AlwaysEqual:
        def __eq__(self, other):
            return True
    with pytest.raises(OutputError):
        normalise(AlwaysEqual())
    result = check_exercise("perturbation.gradient_snr", lambda samples: AlwaysEqual())
    assert result.score == 0 and "not an array of numbers" in result.feedback
    result = check_exercise("perturbation.gradient_snr", lambda samples: None)
    assert result.score == 0 and "return statement" in result.feedback


def test_mutating_an_input_is_reported():
    def mutating(samples):
        samples -= samples.mean(axis=0)
        return ref.gradient_snr(samples + 1.0)
    result = check_exercise("perturbation.gradient_snr", mutating, as_graded=False)
    assert result.score == 0 and "modified its input" in result.feedback


def test_errors_in_the_answer_become_feedback():
    def crashing(samples):
        raise KeyError("W3")
    result = check_exercise("perturbation.gradient_snr", crashing)
    assert result.score == 0 and "raised KeyError" in result.feedback


# --- the command line --------------------------------------------------------------------------

def _grade(path, *extra):
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(path), "--json", *extra],
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    return proc


def _edited(tmp_path, name, replacements):
    nb = nbformat.read(str(SOLUTION), as_version=4)
    for cell in nb.cells:
        exercise = cell.metadata.get("course", {}).get("exercise")
        if exercise in replacements:
            cell.source = replacements[exercise]
    path = tmp_path / f"01_perturbation-{name}"
    nbformat.write(nb, str(path))
    return path


def test_solution_gets_full_marks_and_student_version_zero():
    proc = _grade(SOLUTION)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert {"notebook", "exercises", "score", "max_score"} <= set(report)   # the contract (additive)
    assert report["tutorial"] == "perturbation" and report["assignment"] == "01_perturbation"
    assert report["score"] == report["max_score"] == 8
    assert set(report["exercises"]) == {e.id for e in EXERCISES.values() if e.tutorial == "perturbation"}
    for r in report["exercises"].values():       # the contract, and the fields added for the report
        assert set(r) == {"score", "max_score", "feedback", "mistake", "fixture", "hidden", "status", "seconds"}
        assert r["status"] == "correct" and r["mistake"] is None and r["seconds"] >= 0
    report = json.loads(_grade(STUDENT).stdout)
    assert report["score"] == 0 and report["max_score"] == 8
    assert all("not implemented" in r["feedback"] for r in report["exercises"].values())
    assert all(r["status"] == "missing" for r in report["exercises"].values())


def test_one_broken_exercise_does_not_cost_the_others(tmp_path):
    path = _edited(tmp_path, "mixed.ipynb", {
        "perturbation.weight_perturbation":
            "def weight_perturbation_gradient(params, x, y, perturbations, sigma, activation='sigmoid'):\n"
            "    while True:\n        pass\n",
        "perturbation.node_perturbation":
            "import course_utils.mlp\ncourse_utils.mlp.per_example_loss = lambda *a, **k: 0.0\n"
            "def node_perturbation_gradient(params, x, y, node_noise, sigma, activation='sigmoid'):\n"
            "    return {}\n",
    })
    proc = _grade(path, "--timeout", "10")
    assert proc.returncode == 0, proc.stderr
    ex_ = json.loads(proc.stdout)["exercises"]
    assert ex_["perturbation.weight_perturbation"]["score"] == 0
    assert "longer than 10 s" in ex_["perturbation.weight_perturbation"]["feedback"]
    assert ex_["perturbation.node_perturbation"]["score"] == 0
    assert "must not patch" in ex_["perturbation.node_perturbation"]["feedback"]
    assert ex_["perturbation.gradient_snr"]["score"] == 2


def test_an_answer_that_fails_as_a_whole_on_the_public_examples_is_not_run_on_the_hidden_ones(tmp_path, monkeypatch):
    """Its grade is the public part's error either way (the merge returns it), so the hidden sandbox runs only
    the other answers: an answer cell that raises, or a function that is not there, costs one sandbox."""
    from autograder import notebook_grading
    from autograder.sandbox import Limits
    path = _edited(tmp_path, "raises.ipynb", {
        "perturbation.weight_perturbation": "raise RuntimeError('not finished')\n",
        "perturbation.gradient_snr": "snr = None\n",
    })
    batches, run_batch = [], notebook_grading.run_batch

    def recording(batch, limits, deadline=None):
        batches.append(sorted(job["exercise"] for job in batch.exercises))
        return run_batch(batch, limits, deadline)

    monkeypatch.setattr(notebook_grading, "run_batch", recording)
    report = notebook_grading.grade_notebook(path, limits=Limits(timeout=20))
    exercises = report["exercises"]
    assert "raised RuntimeError: not finished" in exercises["perturbation.weight_perturbation"]["feedback"]
    assert exercises["perturbation.weight_perturbation"]["score"] == exercises["perturbation.gradient_snr"]["score"] == 0
    assert exercises["perturbation.node_perturbation"]["score"] == 3 and exercises["perturbation.stable_step"]["score"] == 1
    assert batches == [["perturbation.gradient_snr", "perturbation.node_perturbation", "perturbation.stable_step",
                        "perturbation.weight_perturbation"],
                       ["perturbation.node_perturbation", "perturbation.stable_step"]], batches


def test_calling_the_reference_is_refused(tmp_path):
    path = _edited(tmp_path, "copy.ipynb", {
        "perturbation.gradient_snr":
            "from course_utils.perturbation import gradient_snr as _ref\n"
            "def gradient_snr(samples):\n    return _ref(samples)\n",
    })
    report = json.loads(_grade(path).stdout)
    assert report["exercises"]["perturbation.gradient_snr"]["score"] == 0
    assert "not available to graded answers in 01_perturbation" in report["exercises"]["perturbation.gradient_snr"]["feedback"]
    assert report["exercises"]["perturbation.node_perturbation"]["score"] == 3


@pytest.mark.parametrize("content,reason", [
    ("this is not json", "not a Jupyter notebook"),
    ('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "cannot tell the assignment"),
])
def test_ungradable_input_exits_nonzero_with_one_line(tmp_path, content, reason):
    path = tmp_path / "bad.ipynb"
    path.write_text(content)
    proc = _grade(path)
    assert proc.returncode != 0 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and reason in proc.stderr


def test_grade_all_writes_a_csv(tmp_path):
    submissions = tmp_path / "submissions"
    (submissions / "alice").mkdir(parents=True)
    (submissions / "bob").mkdir()
    (submissions / "alice" / "01_perturbation.ipynb").write_text(SOLUTION.read_text())
    (submissions / "bob" / "01_perturbation.ipynb").write_text(STUDENT.read_text())
    (submissions / "bob" / "notes.ipynb").write_text("garbage")
    out = tmp_path / "grades.csv"
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(submissions), "--out", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    rows = {r["notebook"]: r for r in csv.DictReader(out.open())}
    assert float(rows["alice/01_perturbation.ipynb"]["score"]) == 8
    assert float(rows["bob/01_perturbation.ipynb"]["score"]) == 0
    assert float(rows["alice/01_perturbation.ipynb"]["perturbation.node_perturbation"]) == 3
    assert "not a Jupyter notebook" in rows["bob/notes.ipynb"]["error"]


def test_the_harness_preloads_jax_only_for_cells_that_exercises_run():
    """JAX is imported once before the forks where a cell up to the last answer cell imports it (each
    exercise's child would import it again); a JAX import after the last answer costs nothing."""
    from autograder._harness import _jax_imports
    cells = ["import numpy as np", "import jax.numpy as jnp\nfrom course_utils.jax import eqprop as je",
             "def f(x):\n    return x", "  from jax import lax  # indented", "import jaxlib_like_name_not_jax",
             "import jax.scipy.linalg"]
    assert _jax_imports(cells, [{"answer": 2}]) == ["jax.numpy", "course_utils.jax"]
    assert _jax_imports(cells, [{"answer": 0}, {"answer": 5}]) == [
        "jax.numpy", "course_utils.jax", "jax", "jax.scipy.linalg"]
    assert _jax_imports(cells, [{"answer": 0}]) == []
    assert _jax_imports([None, "x = 'import jax'"], [{"answer": 1}]) == []
    assert _jax_imports(cells, []) == []
