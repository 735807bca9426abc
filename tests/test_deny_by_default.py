"""Grading denies by default: graded code reaches, of the course package, only what its assignment hands
students, and of third-party packages only the students' runtime; marks come from hidden fixtures that
feedback never prints; nothing a notebook holds stalls the grader or another student; an earlier cell
that ends the process costs only its own exercise; the same notebook and secret give the same grade.

Each attack here was reproduced on the grader before this design (issue "Grading that denies by
default") and gained marks or stalled a batch there."""
import ast
import copy
import csv
import hashlib
import inspect
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import allowlist, runtime
from autograder.core import normalise, prepared
from autograder.exercises import ASSIGNMENTS, EXERCISES, HANDED, exercises_of
from autograder.notebook_grading import grade_notebook
from autograder.sandbox import Limits
from autograder.secret import PRACTICE, Secret

REPO = Path(__file__).resolve().parents[1]
FAST = Limits(timeout=30, earlier_cell_seconds=3)
SECRET = Secret(b"a secret for these tests, not the suite's", "test")


def solution(name):
    return REPO / "solutions" / name / f"{name}.ipynb"


def submission(tmp_path, assignment, replace=None, name=None, edit=None):
    """A copy of an assignment's solution with some answer cells (by exercise id) replaced."""
    nb = nbformat.read(str(solution(assignment)), as_version=4)
    for cell in nb.cells:
        exercise = cell.metadata.get("course", {}).get("exercise")
        if replace and exercise in replace:
            cell.source = textwrap.dedent(replace[exercise])
    if edit:
        edit(nb)
    path = tmp_path / (name or f"{assignment}.ipynb")
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def scores(report):
    return {k.split(".", 1)[1]: v["score"] for k, v in report["exercises"].items()}


# --- the sealed package -----------------------------------------------------------------------------------

def _sealed_python(tmp_path, assignment, code):
    """Run ``code`` in a fresh interpreter that sees only the sealed package of ``assignment``."""
    root = allowlist.build_sealed(tmp_path / assignment, assignment, HANDED[assignment])
    proc = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(root)!r})\n" + code],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


PROBES = {   # names that gave marks through delegation, at every depth: functions, methods, jitted, private
    "02_weight_transport": ["course_utils.jax.mlp.loss", "course_utils.mlp.backprop_gradients",
                            "course_utils.jax.online._angle", "course_utils.metrics.cosine_similarity",
                            "course_utils.mlp.numerical_gradient"],
    "04_forward_forward": ["course_utils.jax.forward_forward.layer_forward", "course_utils.forward_forward.embed_label",
                           "course_utils.forward_forward.label_goodness", "course_utils.jax.forward_forward.goodness"],
    "05_online": ["course_utils.nengo_rules.SimOnlineFeedbackAlignment", "course_utils.online.filter_step",
                  "course_utils.jax.online.pes_update", "course_utils.online.simulate"],
    "06_synthesis": ["course_utils.metrics.cosine_similarity", "course_utils.perturbation.gradient_snr",
                     "course_utils.synthesis.snr_from_moments", "course_utils.training.train"],
}


@pytest.mark.parametrize("assignment", sorted(PROBES))
def test_everything_not_handed_is_sealed_at_any_depth(tmp_path, assignment):
    code = textwrap.dedent(f"""
        import importlib, json
        out = {{}}
        for name in {PROBES[assignment]!r}:
            module, attribute = name.rsplit(".", 1)
            obj = getattr(importlib.import_module(module), attribute)
            try:
                obj()                                   # called, or
                out[name] = "callable"
            except PermissionError as err:
                out[name] = str(err)
            try:
                obj.make_step                           # a method, or any attribute
                out[name + ".attribute"] = "reachable"
            except PermissionError as err:
                out[name + ".attribute"] = "sealed"
            except AttributeError:
                out[name + ".attribute"] = "sealed"
        print(json.dumps(out))
        """)
    out = json.loads(_sealed_python(tmp_path, assignment, code).splitlines()[-1])
    for name in PROBES[assignment]:
        assert f"not available to graded answers in {assignment}" in out[name], out[name]
        assert len(out[name].splitlines()) == 1
        assert out[name + ".attribute"] == "sealed"


@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_the_handed_helpers_work_and_no_reference_is_in_the_sealed_copy(tmp_path, assignment):
    root = allowlist.build_sealed(tmp_path / "copy", assignment, HANDED[assignment])
    text = "\n".join(p.read_text() for p in sorted((root / "course_utils").rglob("*.py")))
    tree = ast.parse(text)
    kept = {node.name: ast.dump(node) for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    for exercise in exercises_of(ASSIGNMENTS[assignment]):
        if f"{exercise.reference.__module__}:{exercise.reference.__name__}" in exercise.withheld_while_graded:
            continue     # a handed helper that is also an answer (03's rho): sealed while its exercise is graded
        reference = ast.parse(textwrap.dedent(inspect.getsource(exercise.reference))).body[0]
        assert exercise.reference.__name__ not in kept or kept[exercise.reference.__name__] != ast.dump(reference), \
            f"{exercise.id}: its reference is in the sealed copy"
        assert ast.dump(reference) not in kept.values()
    helpers = [h.replace(":", ".") for h in HANDED[assignment]]
    out = _sealed_python(tmp_path, assignment, textwrap.dedent(f"""
        import importlib, inspect
        for name in {helpers!r}:
            module, attribute = name.rsplit(".", 1)
            obj = getattr(importlib.import_module(module), attribute)
            assert inspect.isfunction(obj), name
            print(name, "open")
        """))
    assert out.count(" open") == len(helpers)


def test_the_allowlist_audit_no_handed_callable_computes_an_answer():
    """Every callable the allowlists open (the handed helpers and everything they use), called with each
    exercise's fixtures (by keyword, and by position in the contract's order), never returns that
    exercise's reference output on all of its public fixtures."""
    import importlib
    checked = 0
    for assignment, tutorial in ASSIGNMENTS.items():
        opened = allowlist.open_names(HANDED[assignment])
        callables = []
        for module, names in opened.items():
            mod = importlib.import_module(module)
            for name in sorted(names):
                obj = getattr(mod, name, None)
                if callable(obj) and not inspect.ismodule(obj) and getattr(obj, "__module__", "").startswith("course_utils"):
                    callables.append((f"{module}.{name}", obj))
        for exercise in exercises_of(tutorial):
            fixtures, expected = prepared(exercise)
            for name, function in callables:
                if ":".join(name.rsplit(".", 1)) in exercise.withheld_while_graded:
                    continue    # sealed while this exercise is graded (see the next test)
                for how in ("keywords", "positions"):
                    matches = 0
                    for fixture, want in zip(fixtures, expected):
                        kwargs = copy.deepcopy(fixture.kwargs)
                        try:
                            params = inspect.signature(function).parameters
                            if how == "keywords":
                                got = function(**{k: v for k, v in kwargs.items() if k in params})
                            else:
                                got = function(*list(kwargs.values())[:len(params)])
                            got = normalise(got)
                        except Exception:
                            break
                        if got.keys() == want.keys() and all(
                                got[k].shape == want[k].shape and np.allclose(got[k], want[k]) for k in want):
                            matches += 1
                    checked += 1
                    assert matches < len(fixtures), f"{name} computes {exercise.id}'s answer ({how})"
    assert checked > 50


def test_a_helper_that_is_an_answer_is_sealed_while_that_exercise_is_graded(tmp_path):
    from autograder import check_exercise
    from course_utils.eqprop import rho
    path = submission(tmp_path, "03_eqprop", {"eqprop.debug_rho": "hard_sigmoid = rho\n"})
    result = grade_notebook(path, limits=FAST)["exercises"]
    assert result["eqprop.debug_rho"]["score"] == 0
    assert "is the answer to exercise eqprop.debug_rho" in result["eqprop.debug_rho"]["feedback"]
    assert result["eqprop.energy"]["score"] == 2                  # the other answers use rho as handed
    inline = check_exercise("eqprop.debug_rho", rho)
    assert not inline.passed and "is the answer to exercise eqprop.debug_rho" in inline.feedback


def test_inside_the_sandbox_only_the_students_runtime_imports(tmp_path):
    # The answer reports, through its (public, printed) result, which packages it could import.
    answer = """
        import importlib
        def gradient_snr(samples):
            found = 0
            for i, name in enumerate(["nengo", "torch", "nbgrader", "dask", "distributed", "pytest", "playwright",
                                      "ipytest", "jupyterlab", "torchvision", "sqlalchemy", "setuptools"]):
                try:
                    importlib.import_module(name)
                    found += 2 ** i
                except ImportError:
                    pass
            for name in ["numpy", "scipy", "jax", "matplotlib", "IPython", "tqdm", "ipywidgets"]:
                importlib.import_module(name)   # the runtime: these must import
            return float(found) + 1000.0
        """
    report = grade_notebook(submission(tmp_path, "01_perturbation", {"perturbation.gradient_snr": answer}),
                            limits=FAST)
    feedback = report["exercises"]["perturbation.gradient_snr"]["feedback"]
    assert "is 1000, expected" in feedback, feedback        # 1000 + 0: none of the grader's packages imported
    assert {"nengo", "torch", "nbgrader", "dask", "pytest"}.isdisjoint(runtime.modules())
    assert {"numpy", "jax", "matplotlib", "scipy"} <= runtime.modules()


# --- delegation: full marks without solving, on the old grader ----------------------------------------------

DELEGATIONS = {
    "05_online": {
        "online.filter_step": """
            import nengo
            def filter_step(y, u, dt, tau):
                step = nengo.LinearFilter([1], [tau, 1], method="euler").make_step(
                    shape_in=y.shape, shape_out=y.shape, dt=dt, rng=None, state={"X": y[None].copy()})
                return step(0.0, u)
            """,
        "online.pes_update": """
            from nengo.builder.learning_rules import SimPES
            def pes_update(activities, error, learning_rate, dt):
                raise RuntimeError("SimPES is not importable here")
            """,
        "online.fa_update": """
            from course_utils.nengo_rules import SimOnlineFeedbackAlignment
            def fa_update(x, current, error, feedback, gain, learning_rate, dt, neuron="relu"):
                return SimOnlineFeedbackAlignment.make_step(None, None, dt, None)
            """,
    },
    "02_weight_transport": {
        "weight_transport.backprop_gradients": """
            import jax
            from course_utils.jax import mlp as jmlp
            def backprop_gradients(params, x, y, activation="sigmoid"):
                return jax.grad(jmlp.loss)(params, x, y, activation)
            """,
        "weight_transport.cosine_similarity": """
            import numpy as np
            from course_utils.jax.online import _angle
            def cosine_similarity(a, b):
                return float(np.cos(np.radians(_angle(np.ravel(a), np.ravel(b)))))
            """,
    },
    "04_forward_forward": {
        "forward_forward.layer_gradient": """
            import jax, jax.numpy as jnp
            from course_utils.jax import forward_forward as jff
            def layer_gradient(W, b, h_below_pos, h_below_neg, threshold):
                def loss(W, b):
                    _, hp = jff.layer_forward(W, b, h_below_pos)
                    _, hn = jff.layer_forward(W, b, h_below_neg)
                    return (jnp.mean(jax.nn.softplus(threshold - jff.goodness(hp)))
                            + jnp.mean(jax.nn.softplus(jff.goodness(hn) - threshold)))
                gW, gb = jax.grad(loss, argnums=(0, 1))(W, b)
                return {"W": gW, "b": gb}
            """,
    },
}


@pytest.mark.parametrize("assignment", sorted(DELEGATIONS))
def test_delegating_to_other_packages_or_to_course_code_gains_nothing(tmp_path, assignment):
    replace = DELEGATIONS[assignment]
    report = grade_notebook(submission(tmp_path, assignment, replace), limits=FAST)
    for exercise_id, result in report["exercises"].items():
        if exercise_id in replace:
            assert result["score"] == 0, (exercise_id, result["feedback"])
        else:
            assert result["score"] == result["max_score"], (exercise_id, result["feedback"])


def test_the_inline_check_refuses_the_same_delegations():
    """The attacks above fail inline too (the inline check applies grading's allowlist), or the check says
    the answer will score 0."""
    import jax
    from autograder import check_exercise
    from course_utils.jax import mlp as jmlp
    from course_utils.jax.online import _angle

    def backprop_gradients(params, x, y, activation="sigmoid"):
        return jax.grad(jmlp.loss)(params, x, y, activation)

    def cosine_similarity(a, b):
        return float(np.cos(np.radians(_angle(np.ravel(a), np.ravel(b)))))
    for exercise_id, answer in (("weight_transport.backprop_gradients", backprop_gradients),
                                ("weight_transport.cosine_similarity", cosine_similarity)):
        result = check_exercise(exercise_id, answer)
        assert not result.passed and "not available to graded answers in 02_weight_transport" in result.feedback


GETSOURCE = """
import inspect, textwrap
from course_utils import eqprop as _m
exec(textwrap.dedent(inspect.getsource(_m.{function})))
{alias}
"""


def test_the_getsource_template_scores_nothing(tmp_path):
    replace = {}
    for exercise in exercises_of("eqprop"):
        alias = "" if exercise.reference.__name__ == exercise.function_name else \
            f"{exercise.function_name} = {exercise.reference.__name__}"
        replace[exercise.id] = GETSOURCE.format(function=exercise.reference.__name__, alias=alias)
    report = grade_notebook(submission(tmp_path, "03_eqprop", replace), limits=FAST)
    assert report["score"] == 0, {k: v["feedback"] for k, v in report["exercises"].items() if v["score"]}


# --- feedback is not an oracle ----------------------------------------------------------------------------

def _table_answer(exercise):
    """A submission that returns the public fixtures' expected values, looked up by its inputs (what a
    student can learn from feedback), and zeros elsewhere."""
    fixtures, expected = prepared(exercise)
    table = {}
    for fixture, want in zip(fixtures, expected):
        key = hashlib.sha256(repr(sorted((k, np.asarray(v).tobytes()) for k, v in fixture.kwargs.items()
                                         if isinstance(v, np.ndarray))).encode()).hexdigest()
        table[key] = float(want[""])
    return textwrap.dedent(f"""
        import hashlib
        import numpy as np
        TABLE = {table!r}
        def {exercise.function_name}(**kwargs):
            key = hashlib.sha256(repr(sorted((k, np.asarray(v).tobytes()) for k, v in kwargs.items()
                                             if isinstance(v, np.ndarray))).encode()).hexdigest()
            return TABLE.get(key, 0.0)
        """)


def test_a_table_of_the_public_answers_gains_nothing_and_hidden_feedback_prints_no_value(tmp_path):
    exercise = EXERCISES["perturbation.stable_step"]
    path = submission(tmp_path, "01_perturbation", {exercise.id: _table_answer(exercise)})
    report = grade_notebook(path, limits=FAST, secret=SECRET)
    result = report["exercises"][exercise.id]
    assert result["score"] == 0 and result["hidden"] is True and "hidden fixture" in result["feedback"]
    fixtures, expected = prepared(exercise, SECRET)
    hidden = [float(e[""]) for f, e in zip(fixtures, expected) if f.hidden]
    numbers = [float(n) for n in re.findall(r"\d+\.\d+(?:e[-+]?\d+)?", result["feedback"])]
    for value in hidden:
        assert not any(np.isclose(n, value, rtol=1e-3) for n in numbers), result["feedback"]
    # ... and the same answer passes every public fixture: it is the hidden ones that refuse it
    assert not any(f"[{f.label}]" in result["feedback"] for f in fixtures if not f.hidden)


def test_hidden_fixtures_come_from_the_secret():
    for exercise in EXERCISES.values():
        one, _ = prepared(exercise, SECRET)
        again, _ = prepared(exercise, Secret(SECRET.value, "again"))
        other, _ = prepared(exercise, PRACTICE)
        public = [f for f in one if not f.hidden]
        hidden = [f for f in one if f.hidden]
        assert len(hidden) >= 20 and len(public) >= 3, exercise.id
        same = lambda a, b: all(np.array_equal(np.asarray(a.kwargs[k], dtype=object), np.asarray(b.kwargs[k], dtype=object))
                                if not isinstance(a.kwargs[k], (dict, tuple)) else repr(a.kwargs[k]) == repr(b.kwargs[k])
                                for k in a.kwargs)
        assert all(same(a, b) for a, b in zip(one, again)), exercise.id
        assert not all(same(a, b) for a, b in zip([f for f in one if f.hidden], [f for f in other if f.hidden])), \
            exercise.id
        assert {f.label for f in hidden} <= {f.label for f in other if f.hidden} | {f.label for f in hidden}


def test_a_solution_gets_full_marks_with_any_secret(tmp_path):
    for secret in (SECRET, PRACTICE, Secret(b"x" * 40, "another")):
        report = grade_notebook(solution("04_forward_forward"), limits=FAST, secret=secret)
        assert report["score"] == report["max_score"], report["exercises"]


def test_the_secret_from_a_file_an_environment_variable_or_the_built_in_one(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_SECRET", "COURSE_SECRET_FILE")}
    file = tmp_path / "secret"
    made = subprocess.run([sys.executable, "-m", "autograder", "secret", str(file)], capture_output=True, text=True,
                          cwd=REPO, env=env)
    assert made.returncode == 0 and oct(file.stat().st_mode & 0o777) == "0o600"
    grade = [sys.executable, "-m", "autograder", "grade", str(solution("06_synthesis")), "--json"]
    built_in = subprocess.run(grade, capture_output=True, text=True, cwd=REPO, env=env)
    assert built_in.returncode == 0 and "built-in course secret" in built_in.stderr
    assert len(built_in.stderr.strip().splitlines()) == 1
    with_file = subprocess.run(grade + ["--secret-file", str(file)], capture_output=True, text=True, cwd=REPO, env=env)
    assert with_file.returncode == 0 and with_file.stderr == ""
    assert json.loads(with_file.stdout)["secret"] != json.loads(built_in.stdout)["secret"]
    (tmp_path / "short").write_text("tiny")
    bad = subprocess.run(grade + ["--secret-file", str(tmp_path / "short")], capture_output=True, text=True,
                         cwd=REPO, env=env)
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1 and "shorter" in bad.stderr


# --- nothing stalls the grader ------------------------------------------------------------------------------

def _untagged_with_blank_lines(nb):
    for cell in nb.cells:                             # every exercise tag removed: the grader falls back to a
        cell.metadata.get("course", {}).pop("exercise", None)    # search for each function's definition
    nb.cells.append(nbformat.v4.new_code_cell("\n" * 400_000))


def _magics_in_a_cell(nb):
    lines = [f"x{i} = !echo {i}" if i % 200 == 0 else f"y = {i}" for i in range(20_000)]
    at = next(i for i, c in enumerate(nb.cells) if c.metadata.get("course", {}).get("role") == "tools")
    cell = nbformat.v4.new_code_cell("\n".join(lines))
    cell.metadata["course"] = {"role": "tools"}        # IPython re-tokenises it once per magic: minutes
    nb.cells.insert(at + 1, cell)


def test_a_notebook_with_400000_blank_lines_and_no_tags_is_graded(tmp_path):
    path = submission(tmp_path, "01_perturbation", edit=_untagged_with_blank_lines)
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(path), "--json"], capture_output=True,
                          text=True, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report["score"] == report["max_score"] == 8, report["exercises"]


def test_a_cell_that_takes_minutes_to_read_is_skipped_and_says_so(tmp_path):
    path = submission(tmp_path, "01_perturbation", edit=_magics_in_a_cell)
    report = grade_notebook(path, limits=FAST)
    assert report["score"] == report["max_score"] == 8, report["exercises"]
    assert all("could not be read in time and was skipped" in r["feedback"] for r in report["exercises"].values())


def test_stalling_notebooks_hold_no_honest_student_in_a_batch(tmp_path):
    root = tmp_path / "submitted"
    submission(root / "blank-lines" / "01_perturbation", "01_perturbation", edit=_untagged_with_blank_lines)
    submission(root / "magics" / "01_perturbation", "01_perturbation", edit=_magics_in_a_cell)
    submission(root / "alice" / "01_perturbation", "01_perturbation")
    bob = nbformat.read(str(REPO / "notebooks" / "01_perturbation" / "01_perturbation.ipynb"), as_version=4)
    (root / "bob" / "01_perturbation").mkdir(parents=True)
    nbformat.write(bob, str(root / "bob" / "01_perturbation" / "01_perturbation.ipynb"))
    out = tmp_path / "grades.csv"
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(root), "--out", str(out),
                           "--workers", "2", "--timeout", "30"], capture_output=True, text=True, cwd=REPO, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {r["notebook"].split("/")[0]: r for r in csv.DictReader(out.open())}
    assert rows["alice"]["score"] == "8" and rows["bob"]["score"] == "0"
    assert rows["blank-lines"]["score"] == "8" and rows["magics"]["score"] == "8"
    journal = [json.loads(line) for line in (tmp_path / "grades.csv.journal.jsonl").read_text().splitlines()]
    assert len(journal) == 4 and all("graded_at" in entry for entry in journal)


def test_the_watchdog_records_a_task_past_its_limit_and_restarts_its_worker():
    """A task that outlives its notebook's limit (the task stops itself at it: this is the backstop) is an
    error row, and its worker is restarted; the worker's next task starts its own clock."""
    from autograder import batch

    class Future:
        def __init__(self, key):
            self.key, self.cancelled = key, False

        def cancel(self):
            self.cancelled = True

    class Client:
        def __init__(self):
            self.held, self.restarted = {"w1": ["a", "b"], "w2": ["c"]}, []

        def processing(self):
            return self.held

        def restart_workers(self, workers, raise_for_error=True):
            self.restarted += workers

    futures = {Future(k): (f"key-{k}", f"{k}.ipynb", "06_synthesis") for k in "abc"}
    by = {f.key: f for f in futures}
    rows, client = [], Client()
    watch = batch._Watchdog(client, futures, Limits(timeout=1), lambda f, body: rows.append((f.key, body)))
    pending = set(futures)
    clock = [1000.0]
    real = time.monotonic
    try:
        time.monotonic = lambda: clock[0]
        watch(pending)                                   # first look: every clock starts
        clock[0] += 50
        client.held = {"w1": ["a", "b"], "w2": []}       # c finished, a still runs on w1
        watch(pending)
        assert rows == [] and client.restarted == []
        clock[0] += batch.notebook_seconds(Limits(timeout=1), 1) + batch.WATCHDOG_MARGIN
        watch(pending)
    finally:
        time.monotonic = real
    assert [k for k, _ in rows] == ["a"] and "this notebook's limit" in rows[0][1]["error"]
    assert by["a"].cancelled and not by["b"].cancelled and client.restarted == ["w1"]
    assert by["a"] not in pending and by["b"] in pending


# --- an earlier cell that ends the process ------------------------------------------------------------------

def test_an_earlier_cell_that_ends_the_process_costs_only_its_own_exercise(tmp_path):
    exit_cell = """
        import os
        def embed_label(x, labels, num_classes=10):
            return x
        os._exit(0)
        """
    report = grade_notebook(submission(tmp_path, "04_forward_forward", {"forward_forward.embed_label": exit_cell}),
                            limits=FAST)
    results = report["exercises"]
    assert results["forward_forward.embed_label"]["score"] == 0
    for exercise_id in ("forward_forward.layer_loss", "forward_forward.layer_gradient", "forward_forward.predict",
                        "forward_forward.hard_negatives"):
        assert results[exercise_id]["score"] == results[exercise_id]["max_score"], results[exercise_id]
        assert "ended the grading process and was skipped" in results[exercise_id]["feedback"]
    # predict uses embed_label, which was skipped: it is graded with the course's in its place
    assert "in place of yours" in results["forward_forward.predict"]["feedback"]


def test_one_wrong_or_missing_earlier_answer_costs_one_exercise(tmp_path):
    missing = 'def embed_label(x, labels, num_classes=10):\n    raise NotImplementedError\n'
    wrong = 'def embed_label(x, labels, num_classes=10):\n    return x + 0.0\n'
    for answer in (missing, wrong):
        report = grade_notebook(submission(tmp_path, "04_forward_forward", {"forward_forward.embed_label": answer}),
                                limits=FAST)
        assert scores(report) == {"embed_label": 0, "layer_loss": 2, "layer_gradient": 3, "predict": 2,
                                  "hard_negatives": 1}, report["exercises"]
        assert "graded with the course's embed_label in place of yours" in \
            report["exercises"]["forward_forward.predict"]["feedback"]
        assert "in place of yours" not in report["exercises"]["forward_forward.embed_label"]["feedback"]


def test_the_named_mistake_is_recorded_for_the_report(tmp_path):
    answer = """
        import numpy as np
        def gradient_snr(samples):
            s = np.asarray(samples, dtype=float)
            std = s.std(axis=0, ddof=1)
            return float(np.mean(np.abs(s.mean(0)[std > 0]) / std[std > 0]))
        """
    report = grade_notebook(submission(tmp_path, "01_perturbation", {"perturbation.gradient_snr": answer}), limits=FAST)
    result = report["exercises"]["perturbation.gradient_snr"]
    assert result["mistake"] == "std with ddof=1" and result["status"] == "wrong" and result["score"] == 0


# --- the same notebook, the same grade ------------------------------------------------------------------------

HOSTILE = {
    "perturbation.weight_perturbation": "import numpy as np\nhog = np.ones((6 * 10**9 // 8,))\n",
    "perturbation.node_perturbation": "import sys\nfor _ in range(200):\n    sys.stdout.write('x' * 10**6)\n"
                                      "    sys.stderr.write('y' * 10**6)\n",
    "perturbation.gradient_snr": "import os\nfor fd in range(1, 64):\n    try: os.write(fd, b'0 99999\\n{' * 10**6)\n"
                                 "    except OSError: pass\nos._exit(0)\n",
}


def test_the_same_notebook_gets_the_same_grade_every_time(tmp_path):
    path = submission(tmp_path, "01_perturbation", HOSTILE)
    limits = Limits(timeout=60, earlier_cell_seconds=30)    # no earlier cell near its time limit, even under load
    reports = [grade_notebook(path, limits=limits, secret=SECRET) for _ in range(3)]
    strip = lambda r: {k: {f: v for f, v in e.items() if f != "seconds"} for k, e in r["exercises"].items()}
    assert strip(reports[0]) == strip(reports[1]) == strip(reports[2])
    assert scores(reports[0]) == {"weight_perturbation": 0, "node_perturbation": 0, "gradient_snr": 0,
                                 "stable_step": 1}


# --- the inline check and the grade agree ---------------------------------------------------------------------

def test_no_setup_cell_hands_students_what_grading_seals():
    """The first setup cell of every tutorial imports, of the course, exactly its assignment's allowlist;
    everything else the notebook uses is imported by the tools cell (sealed while grading)."""
    for assignment in ASSIGNMENTS:
        nb = nbformat.read(str(solution(assignment)), as_version=4)
        setup = [c for c in nb.cells if c.metadata.get("course", {}).get("role") == "setup"]
        tools = [c for c in nb.cells if c.metadata.get("course", {}).get("role") == "tools"]
        assert len(setup) == 1 and len(tools) == 1, assignment
        imported = set()
        for node in ast.walk(ast.parse(setup[0].source)):
            if isinstance(node, ast.ImportFrom) and node.module.startswith("course_utils"):
                imported |= {f"{node.module}:{a.name}" for a in node.names}
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
                assert all(n.split(".")[0] in ("numpy", "autograder") for n in names), (assignment, names)
        assert imported == set(HANDED[assignment]), assignment


def test_every_stub_and_grading_cell_states_the_rules():
    for assignment in ASSIGNMENTS:
        nb = nbformat.read(str(REPO / "notebooks" / assignment / f"{assignment}.ipynb"), as_version=4)
        graded = [c.source for c in nb.cells if c.cell_type == "markdown"
                  and c.source.startswith("**How your answers are graded.**")]
        assert len(graded) == 1, assignment
        for words in ("in place", "hidden", "jax.grad", "float32", "setup cell"):
            assert words in graded[0], (assignment, words)
        for cell in nb.cells:
            if cell.metadata.get("course", {}).get("exercise"):
                assert any(w in cell.source for w in ("Do not modify the inputs", "not modified", "must not be modified")), \
                    (assignment, cell.metadata["course"]["exercise"])


CAUGHT_OUT = {   # answers that passed inline and scored 0 when graded, before the inline check applied the allowlist
    "06_synthesis": ("synthesis.bias_and_snr", """
        import numpy as np
        from course_utils.metrics import cosine_similarity
        from course_utils.perturbation import gradient_snr
        def bias_and_snr(samples, true_gradient):
            return {"cosine": cosine_similarity(np.mean(samples, axis=0), true_gradient),
                    "snr": gradient_snr(samples)}
        """),
    "04_forward_forward": ("forward_forward.predict", """
        import numpy as np
        from course_utils import forward_forward
        def predict(params, x, skip_first=True):
            num_layers = len([k for k in params if k.startswith("W")])
            first = 1 if (skip_first and num_layers > 1) else 0
            scores = np.zeros((len(x), 10))
            for c in range(10):
                hs = activities(params, forward_forward.embed_label(x, np.full(len(x), c)))
                scores[:, c] = sum(goodness(h) for h in hs[first:])
            return np.argmax(scores, axis=1)
        """),
}


@pytest.mark.parametrize("assignment", sorted(CAUGHT_OUT))
def test_what_grading_refuses_the_inline_check_refuses_with_the_same_line(tmp_path, assignment):
    from autograder import check_exercise
    from course_utils.forward_forward import activities, goodness
    exercise_id, answer = CAUGHT_OUT[assignment]
    namespace = {"activities": activities, "goodness": goodness}
    exec(textwrap.dedent(answer), namespace)
    inline = check_exercise(exercise_id, namespace[EXERCISES[exercise_id].function_name])
    graded = grade_notebook(submission(tmp_path, assignment, {exercise_id: answer}), limits=FAST)
    graded = graded["exercises"][exercise_id]
    assert not inline.passed and graded["score"] == 0
    line = f"is not available to graded answers in {assignment}"
    assert line in inline.feedback and line in graded["feedback"], (inline.feedback, graded["feedback"])
    assert inline.feedback.split(" [")[0] == graded["feedback"].split(" [")[0]
