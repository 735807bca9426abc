"""Red team, second round: attacks on the grader's claims that tests/test_red_team.py does not try.

Each test attacks one claim and asserts it, so an attack that works makes the test fail; the ones that
found a genuine hole were marked xfail until the grader was fixed (all are fixed: none is marked). The
claims:

(1) graded code reaches only the assignment's handed course helpers and the students' runtime;
(2) marks come from hidden fixtures drawn from the course secret; feedback never reveals a hidden
    fixture's expected values;
(3) no notebook stalls the grader or a batch;
(4) an earlier cell that ends, holds or attacks the process costs only its own exercise; one student
    never affects another;
(5) the same notebook and secret always get the same grade;
(6) the inline check never says PASS for an answer that then scores less when graded.

Every attack notebook is the solved 01_perturbation notebook with answer cells replaced (same function
names and signatures). A probe that reports what it saw from inside the sandbox raises on the first
(public) fixture, whose error text the feedback shows verbatim: "PROBE {json}".
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from autograder import sandbox
from autograder.sandbox import Limits
from autograder.secret import Secret

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "01_perturbation" / "01_perturbation.ipynb"
SECRET = Secret(b"red team two: a course secret of our own, 48 bytes", "red team 2")
WP, NP, SNR, STEP = ("perturbation.weight_perturbation", "perturbation.node_perturbation",
                     "perturbation.gradient_snr", "perturbation.stable_step")

needs_bwrap = pytest.mark.skipif(not sandbox.bwrap_available(), reason="needs bubblewrap")


# --- building attack notebooks ------------------------------------------------------------------------

def solution() -> dict:
    return json.loads(SOLUTION.read_text(encoding="utf-8"))


def _course(cell) -> dict:
    return cell.get("metadata", {}).get("course", {}) or {}


def answer_index(nb: dict, exercise_id: str) -> int:
    return next(i for i, c in enumerate(nb["cells"]) if _course(c).get("exercise") == exercise_id)


def with_answers(answers: dict, nb: dict | None = None) -> dict:
    """The solved notebook with the answer cells of ``answers`` ({exercise id: source}) replaced."""
    nb = copy.deepcopy(nb or solution())
    for exercise_id, source in answers.items():
        nb["cells"][answer_index(nb, exercise_id)]["source"] = textwrap.dedent(source).strip() + "\n"
    return nb


def insert_cell(nb: dict, before: int, source: str, metadata: dict | None = None) -> dict:
    """A plain code cell (no course tag unless ``metadata``) inserted before cell ``before``."""
    nb["cells"].insert(before, {"cell_type": "code", "execution_count": None, "metadata": metadata or {},
                                "outputs": [], "source": textwrap.dedent(source).strip() + "\n"})
    return nb


def write(folder: Path, nb: dict, name: str = "01_perturbation.ipynb") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def grade(path, limits: Limits | None = None, secret: Secret = SECRET) -> dict:
    from autograder.notebook_grading import grade_notebook
    return grade_notebook(path, limits=limits, secret=secret)


def probe_report(feedback: str) -> dict:
    """The JSON a probe raised on the first public fixture ("PROBE {...}")."""
    assert "PROBE " in feedback, f"the probe did not report: {feedback}"
    start = feedback.index("PROBE ") + len("PROBE ")
    end = feedback.rindex("}") + 1
    return json.loads(feedback[start:end])


# Code shared by the attacks that read the harness's own memory: the grading child is a fork of the
# harness, so the harness's frames (main's ``job``: every exercise of this sandbox, fixtures and memos)
# are on the child's stack.
HARNESS_JOBS = '''
import sys as _sys

def _harness_jobs():
    frame = _sys._getframe()
    while frame is not None:
        if frame.f_code.co_name == "main" and "job" in frame.f_locals:
            return frame.f_locals["job"]["exercises"]
        frame = frame.f_back
    return []
'''


# --- (1)/(2) the stand-ins: the course's correct function, computed outside, returned inside ------------------

# An answer that uses a failing earlier answer is graded again with the course's function in its place;
# the calls are recorded in the sandbox, computed by the grader, and sent back in the next round's
# ``memo``. All the exercises graded again share one sandbox, so the harness's memory holds every one's
# fixtures (hidden ones included) and every one's memo. Exercise 4 (sacrificed) asks the stand-ins for
# exercises 2 and 3 on *their* fixtures; in the next round exercises 2 and 3 answer by looking up
# exercise 4's memo: the course's own outputs on their hidden fixtures, without a line of implementation.
LOOKUP_WP = HARNESS_JOBS + '''
def weight_perturbation_gradient(params, x, y, perturbations, sigma, activation="sigmoid"):
    return {name: np.zeros_like(value) for name, value in params.items()}      # wrong on purpose
'''

LOOKUP_NP = HARNESS_JOBS + '''
def node_perturbation_gradient(params, x, y, node_noise, sigma, activation="sigmoid"):
    try:   # a call of weight_perturbation_gradient keeps this answer in the grader's later rounds
        weight_perturbation_gradient(params={"W1": np.zeros((1, 1))}, x=np.zeros((1, 1)), y=np.zeros((1, 1)),
                                     perturbations={"W1": np.zeros((1, 1, 1))}, sigma=1.0)
    except Exception:
        pass
    kw = dict(params=params, x=x, y=y, node_noise=node_noise, sigma=sigma, activation=activation)
    for job in _harness_jobs():
        if job.get("exercise") == "perturbation.stable_step" and job.get("memo"):
            look = _sys.modules["__main__"]._stand_in("node_perturbation_gradient", job["memo"], [])
            try:
                return look(**{k: kw[k] for k in sorted(kw)})
            except Exception:
                pass
    return {name: np.zeros_like(value) for name, value in params.items()}
'''

LOOKUP_SNR = HARNESS_JOBS + '''
def gradient_snr(samples):
    try:
        weight_perturbation_gradient(params={"W1": np.zeros((1, 1))}, x=np.zeros((1, 1)), y=np.zeros((1, 1)),
                                     perturbations={"W1": np.zeros((1, 1, 1))}, sigma=1.0)
    except Exception:
        pass
    for job in _harness_jobs():
        if job.get("exercise") == "perturbation.stable_step" and job.get("memo"):
            look = _sys.modules["__main__"]._stand_in("gradient_snr", job["memo"], [])
            try:
                return look(samples=samples)
            except Exception:
                pass
    return 0.0
'''

LOOKUP_STEP = HARNESS_JOBS + '''
def largest_stable_step(gradient, hessian, num_samples):
    # (uses weight_perturbation_gradient, node_perturbation_gradient and gradient_snr)
    ask = {"perturbation.node_perturbation": globals().get("node_perturbation_gradient"),
           "perturbation.gradient_snr": globals().get("gradient_snr")}
    if getattr(getattr(ask["perturbation.node_perturbation"], "__code__", None), "co_name", "") != "stand_in":
        raise RuntimeError("first grading: an error, so that a later wrong result replaces it")
    harness, leaked = _sys.modules["__main__"], None
    for job in _harness_jobs():
        function = ask.get(job.get("exercise"))
        if function is None:
            continue
        for i, encoded in enumerate(job["fixtures"]):
            kw = encoded if isinstance(encoded, dict) and "dict" not in encoded else harness.decode(encoded)
            try:
                value = function(**{k: kw[k] for k in sorted(kw)})
            except Exception:
                continue
            if i == 4 and job["exercise"] == "perturbation.node_perturbation":   # its first hidden fixture
                leaked = float(np.asarray(value["W1"]).flat[0])
    return 0.0 if leaked is None else leaked      # shown as "the result is <leaked>, expected ..."
'''


@pytest.fixture(scope="module")
def stand_in_lookup(tmp_path_factory):
    nb = with_answers({WP: LOOKUP_WP, NP: LOOKUP_NP, SNR: LOOKUP_SNR, STEP: LOOKUP_STEP})
    path = write(tmp_path_factory.mktemp("lookup") / "01_perturbation", nb)
    return grade(path, Limits(timeout=20))


@needs_bwrap
def test_stand_in_memo_is_no_answer_key(stand_in_lookup):
    """(1)/(2) Answers that implement nothing (they look the course's outputs up) get no marks."""
    scores = {e: stand_in_lookup["exercises"][e]["score"] for e in (NP, SNR)}
    assert scores == {NP: 0.0, SNR: 0.0}, stand_in_lookup["exercises"]


@needs_bwrap
def test_feedback_never_shows_a_hidden_expected_value(stand_in_lookup):
    """(2) No feedback holds a hidden fixture's expected value (here: node perturbation's first hidden
    fixture, W1[0, 0], as exercise 4's 'result')."""
    from autograder.core import prepared
    from autograder.exercises import EXERCISES
    fixtures, expected = prepared(EXERCISES[NP], SECRET)
    first_hidden = next(i for i, f in enumerate(fixtures) if f.hidden)
    assert first_hidden == 4
    value = float(expected[first_hidden]["W1"].flat[0])
    feedback = " ".join(e["feedback"] for e in stand_in_lookup["exercises"].values())
    assert f"{value:.6g}" not in feedback, feedback


# --- (3) the stand-ins' cost in the grader's own process ----------------------------------------------------

# The grader computes a stand-in's calls itself, outside the sandbox, with arguments decoded "with size
# limits" (STAND_IN_ELEMENTS numbers, integers up to STAND_IN_INTEGER) and "the calls' time bounded". An
# array with a zero-length axis holds no numbers, whatever its other axes: x (N, 0) @ W1.T (0, H) is an
# (N, H) matrix, and perturbations of shape (K, H, 0) make the reference loop K times over it.
HOSTILE_WP_CALL = '''
def node_perturbation_gradient(params, x, y, node_noise, sigma, activation="sigmoid"):
    try:    # the course's weight_perturbation_gradient, computed by the grader (ours fails its check)
        weight_perturbation_gradient(
            params={{"W1": np.zeros(({H}, 0)), "b1": np.zeros(1)}}, x=np.zeros(({N}, 0)), y=np.zeros((1, 1)),
            perturbations={{"W1": np.zeros(({K}, {H}, 0)), "b1": np.zeros(({K}, 1))}}, sigma=1.0)
    except Exception:
        pass
    return {{name: np.zeros_like(value) for name, value in params.items()}}
'''


def hostile_stand_in_notebook(folder: Path, K: int, N: int, H: int) -> Path:
    nb = with_answers({WP: LOOKUP_WP, NP: HOSTILE_WP_CALL.format(K=K, N=N, H=H)})
    return write(folder / "01_perturbation", nb)


@needs_bwrap
def test_stand_in_calls_take_at_most_the_exercise_time(tmp_path, monkeypatch):
    """(3) The grader's own work for one answer's stand-in calls stays within the exercise's --timeout."""
    from autograder import notebook_grading
    spent, original = [], notebook_grading._compute_stand_ins

    def timed(*args, **kwargs):
        start = time.monotonic()
        try:
            return original(*args, **kwargs)
        finally:
            spent.append(time.monotonic() - start)
    monkeypatch.setattr(notebook_grading, "_compute_stand_ins", timed)
    limits = Limits(timeout=5)
    grade(hostile_stand_in_notebook(tmp_path, K=400, N=2000, H=2000), limits)
    assert spent and max(spent) <= limits.timeout + 3, f"the grader computed stand-in calls for {max(spent):.1f} s"


GRADE_AND_MEASURE = '''
import json, resource, sys
from autograder.notebook_grading import grade_notebook
from autograder.sandbox import Limits
from autograder.secret import Secret
report = grade_notebook(sys.argv[1], limits=Limits(timeout=20), secret=Secret(b"x" * 32, "t"))
print(json.dumps({"maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "scores": {k: v["score"] for k, v in report["exercises"].items()}}))
'''


def grade_measured(path: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", GRADE_AND_MEASURE, str(path)], capture_output=True, text=True,
                         timeout=240, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@needs_bwrap
def test_stand_in_calls_hold_the_graders_memory_bounded(tmp_path):
    """(3)/(4) One notebook's stand-in calls cost the grader's process (no address-space limit, shared with
    the other students of its worker) no more than a few hundred MB over an honest notebook's grading."""
    honest = grade_measured(write(tmp_path / "honest" / "01_perturbation", solution()))
    hostile = grade_measured(hostile_stand_in_notebook(tmp_path / "hostile", K=1, N=11000, H=11000))
    assert hostile["maxrss_mb"] < honest["maxrss_mb"] + 500, (honest, hostile)


# --- (3)/(4) a batch: one submission's file name ---------------------------------------------------------

def grade_all(root: Path, out: Path, workers: int = 1, timeout: int = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "COURSE_SECRET": SECRET.value.decode()}
    env.pop("COURSE_SECRET_FILE", None)
    return subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(root), "--out", str(out),
                           "--workers", str(workers)], capture_output=True, text=True, env=env, timeout=timeout,
                          cwd=ROOT)


@needs_bwrap
def test_a_non_utf8_file_name_costs_only_its_own_row(tmp_path):
    """(3)/(4) A student folder whose name is not UTF-8 (a zip from an LMS, Latin-1) is at most its own
    row: the other students are graded and the batch ends normally."""
    root = tmp_path / "submitted"
    write(root / "alice" / "01_perturbation", solution())
    odd = os.path.join(os.fsencode(root), b"jos\xe9", b"01_perturbation")
    os.makedirs(odd)
    with open(os.path.join(odd, b"01_perturbation.ipynb"), "wb") as f:
        f.write(SOLUTION.read_bytes())
    run = grade_all(root, tmp_path / "grades.csv")
    assert run.returncode == 0, run.stderr[-1500:]
    rows = json.loads((tmp_path / "grades.json").read_text(encoding="utf-8"))
    alice = [r for r in rows if r["notebook"].startswith("alice")]
    assert alice and alice[0]["report"]["score"] == alice[0]["report"]["max_score"], rows


# --- (4) an answer that frames an earlier cell --------------------------------------------------------------

# The harness blames an earlier cell from what the child writes in the shared result channel ("which cell
# runs now"); the child is the student's code. Exercise 3's answer says "the setup cell is running" and
# waits: the harness skips the setup cell for every later exercise, so exercise 4's correct answer loses
# NumPy and its marks.
FRAMING_SNR = '''
import sys as _sys
import time as _time

def gradient_snr(samples):
    frame = _sys._getframe()
    while frame is not None:
        channel = frame.f_locals.get("channel")
        if channel is not None and hasattr(channel, "set_step"):
            channel.set_step(0)          # cell 0, the setup cell, "is running"
            _time.sleep(60)
        frame = frame.f_back
    return 0.0
'''


@needs_bwrap
def test_an_answer_cannot_frame_an_earlier_cell(tmp_path):
    """(4) Exercise 3's answer misbehaves in its own grading: that costs exercise 3 only; exercise 4
    (correct, after it) keeps its marks."""
    path = write(tmp_path / "01_perturbation", with_answers({SNR: FRAMING_SNR}))
    report = grade(path, Limits(timeout=8))
    assert report["exercises"][SNR]["score"] == 0
    assert report["exercises"][WP]["score"] == 2 and report["exercises"][NP]["score"] == 3
    step = report["exercises"][STEP]
    assert step["score"] == step["max_score"], step["feedback"]


# --- (5) the same notebook, the same secret, the same grade ----------------------------------------------------

SIGNATURES = {WP: 'weight_perturbation_gradient(params, x, y, perturbations, sigma, activation="sigmoid")',
              NP: 'node_perturbation_gradient(params, x, y, node_noise, sigma, activation="sigmoid")',
              SNR: "gradient_snr(samples)", STEP: "largest_stable_step(gradient, hessian, num_samples)"}


def coin_answer(nb: dict, exercise_id: str) -> str:
    """The solution's answer, right or doubled by a coin tossed once per grading child, with the random
    module's and NumPy's global generators (unseeded: what a student's code gets when it forgets a seed)."""
    source = "".join(nb["cells"][answer_index(nb, exercise_id)]["source"])
    signature = SIGNATURES[exercise_id]
    name, arguments = signature.split("(", 1)
    call = ", ".join(a.split("=")[0].strip() for a in arguments.rstrip(")").split(","))
    right = source.replace(f"def {name}(", f"def _{name}_right(", 1)
    return right + textwrap.dedent(f'''

        import random as _random
        _COIN_{name} = bool(np.random.rand() < 0.5) != bool(_random.random() < 0.5)

        def {signature}:
            value = _{name}_right({call})
            if _COIN_{name}:
                return value
            return {{k: 2 * v for k, v in value.items()}} if isinstance(value, dict) else 2 * value
        ''')


@needs_bwrap
def test_the_same_notebook_gets_the_same_grade(tmp_path):
    """(5) Graded five times, a notebook whose answers draw from the global generators gets one grade
    (four independent coins: if the generators were not pinned, five equal gradings have odds 1 in 65,536)."""
    nb = solution()
    path = write(tmp_path / "01_perturbation", with_answers({e: coin_answer(nb, e) for e in SIGNATURES}, nb))
    grades = set()
    for _ in range(5):
        report = grade(path, Limits(timeout=20))
        grades.add(tuple(report["exercises"][e]["score"] for e in SIGNATURES))
    assert len(grades) == 1, grades


# --- (6) the inline check, then the grade -----------------------------------------------------------------------

def inline_then_graded(tmp_path, nb: dict, exercise_id: str, kernel_cells: list) -> tuple:
    """(the inline check's Result in this process, as the student's kernel runs it after ``kernel_cells``,
    the graded result of the same notebook)."""
    from autograder import check_exercise
    namespace = {"__name__": "__main__"}
    for source in kernel_cells:
        exec(compile(source, "<kernel cell>", "exec"), namespace)
    name = SIGNATURES[exercise_id].split("(")[0]
    inline = check_exercise(exercise_id, namespace[name])
    report = grade(write(tmp_path / "01_perturbation", nb), Limits(timeout=20))
    return inline, report["exercises"][exercise_id]


SETUP = "".join(solution()["cells"][3]["source"])
HELPER = '''
def _column_stats(samples):
    samples = np.asarray(samples, dtype=np.float64)
    return samples.mean(axis=0), samples.std(axis=0)
'''
SNR_WITH_HELPER = '''
def gradient_snr(samples):
    mean, std = _column_stats(samples)       # my helper, from the cell above
    used = std > 0
    return float(np.mean(np.abs(mean[used]) / std[used]))
'''


@needs_bwrap
def test_inline_pass_means_graded_pass_with_a_helper_cell(tmp_path):
    """(6) A student writes a helper in a cell of their own (untagged, as Jupyter makes new cells) above
    the answer: PASS inline means full marks when graded."""
    nb = with_answers({SNR: SNR_WITH_HELPER})
    insert_cell(nb, answer_index(nb, SNR), HELPER)
    inline, graded = inline_then_graded(tmp_path, nb, SNR, [SETUP, HELPER, SNR_WITH_HELPER])
    assert inline.passed, inline.feedback
    assert graded["score"] == graded["max_score"], graded["feedback"]


WP_FROM_SOURCE = '''
import inspect as _inspect
from course_utils import perturbation as _perturbation

_copied = {"np": np, "forward": forward, "mse_loss": mse_loss}
try:   # the course's own code, read and compiled at run time (no call of a sealed name)
    exec(compile(_inspect.getsource(_perturbation.weight_perturbation_gradient), "<copied>", "exec"), _copied)
except Exception:
    pass

def weight_perturbation_gradient(params, x, y, perturbations, sigma, activation="sigmoid"):
    return _copied["weight_perturbation_gradient"](params, x, y, perturbations, sigma, activation)
'''


@needs_bwrap
def test_inline_pass_means_graded_pass_for_source_copied_at_run_time(tmp_path):
    """(6) An answer that copies the reference's source while it runs: whatever the grade, the inline
    check says the same (it should say FAIL, as grading gives no marks)."""
    inline, graded = inline_then_graded(tmp_path, with_answers({WP: WP_FROM_SOURCE}), WP, [SETUP, WP_FROM_SOURCE])
    assert graded["score"] == 0, "graded code read the reference's source: " + graded["feedback"]
    assert not inline.passed, f"inline: {inline.feedback}; graded: {graded['feedback']}"


# --- (1)/(2) what the sandbox holds: course code, grader-only packages, the repository, the secret -----------

REACH_PROBE = r'''
import gc as _gc, json as _json, os as _os, sys as _sys

def _reach():
    found = {"src": [], "pkg": [], "repo": [], "write": [], "secret": [], "import": []}
    mark, secret = "loss_clean = mse_loss(forward(", __SECRET__[::-1]   # (reversed in the source)
    course_names = {"perturbation.py", "metrics.py", "mlp.py"}
    grader_only = {"torch", "nengo", "dask", "nbgrader", "_pytest", "distributed", "pandas", "sklearn"}
    roots = {_os.path.realpath(p) for p in _sys.path if p}
    for top in ("/",):
        for here, dirs, files in _os.walk(top):
            if here in ("/proc", "/sys", "/dev"):
                dirs[:] = []
                continue
            if _os.access(here, _os.W_OK) and not here.startswith("/tmp"):
                found["write"].append(here)
            base = _os.path.basename(here)
            if (base in grader_only and _os.path.dirname(here) in roots or base == "autograder" and
                    any(n != "__init__.py" for n in files)):      # (the stub autograder has one file)
                found["pkg"].append(here)
            for name in files:
                path = _os.path.join(here, name)
                if name in course_names or name.endswith((".pth", ".egg-link", "direct_url.json")) or (
                        "course" in path and name.endswith((".py", ".pyc"))):
                    try:
                        with open(path, "rb") as f:
                            data = f.read(4_000_000)
                    except OSError:
                        continue
                    if mark.encode() in data or b"/work/" in data and name.endswith((".pth", ".egg-link", ".json")):
                        found["src"].append(path)
    for path in __PATHS__[1:]:       # (the repository's own folder exists: the parent of .venv, bound alone)
        if _os.path.exists(path):
            found["repo"].append(path)
    repository = __PATHS__[0]
    if _os.path.isdir(repository) and set(_os.listdir(repository)) - {".venv"}:
        found["repo"].append(repository + " lists " + ",".join(sorted(_os.listdir(repository))))
    # in-process routes to the course's code
    import inspect, linecache, importlib.resources
    from course_utils import perturbation
    routes = []
    for get in (lambda: inspect.getsource(perturbation),
                lambda: perturbation.__loader__.get_source("course_utils.perturbation"),
                lambda: "".join(linecache.getlines(__REAL__)),
                lambda: importlib.resources.files("course_utils").joinpath("perturbation.py").read_text()):
        try:
            routes.append(get())
        except Exception:
            pass
    if any(mark in text for text in routes):
        found["src"].append("in-process")
    for obj in _gc.get_objects():
        code = getattr(obj, "__code__", None) if callable(obj) else None
        if isinstance(code, type(_reach.__code__)) and "loss_clean" in code.co_varnames \
                and not code.co_filename.startswith("<"):
            found["src"].append("gc:" + code.co_filename)
            break
    for name in ("torch", "nengo", "dask", "nbgrader", "pytest"):
        try:
            __import__(name)
            found["import"].append(name)
        except BaseException:
            pass
    # the secret: environments, command lines and memory of every process here
    for pid in [p for p in _os.listdir("/proc") if p.isdigit() and int(p) != _os.getpid()]:
        for what in ("environ", "cmdline"):
            try:
                with open(f"/proc/{pid}/{what}", "rb") as f:
                    if secret.encode() in f.read():
                        found["secret"].append(f"{pid}/{what}")
            except OSError:
                pass
        try:
            with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
                for line in maps:
                    start, end = (int(v, 16) for v in line.split()[0].split("-"))
                    if "r" not in line.split()[1] or end - start > 2**28:
                        continue
                    try:
                        mem.seek(start)
                        if secret.encode() in mem.read(end - start):
                            found["secret"].append(f"{pid}/mem")
                            break
                    except (OSError, OverflowError, ValueError):
                        pass
        except OSError:
            pass
    return {k: [str(v)[-50:] for v in vs[:3]] + ([len(vs)] if len(vs) > 3 else []) for k, vs in found.items() if vs}

def gradient_snr(samples):
    raise RuntimeError("PROBE " + _json.dumps(_reach(), separators=(",", ":")))
'''


@needs_bwrap
def test_the_sandbox_holds_no_course_code_grader_package_repository_or_secret(tmp_path):
    """(1)/(2) From inside the sandbox: no file or in-process route with the references' code (sealed copy's
    source, loader, linecache, resources, gc, .pth files, __pycache__), no grader-only package by path or
    by import, no repository, solutions or submission folder, nothing writable but /tmp (and /dev), and the
    course secret in no process's environment, command line or memory."""
    folder = tmp_path / "01_perturbation"
    paths = [str(ROOT), str(ROOT / "solutions"), str(ROOT / "course_utils"), str(ROOT / "autograder"), str(folder),
             str(tmp_path)]
    source = (REACH_PROBE.replace("__SECRET__", repr(SECRET.value.decode()[::-1])).replace("__PATHS__", repr(paths))
              .replace("__REAL__", repr(str(ROOT / "course_utils" / "perturbation.py"))))
    report = grade(write(folder, with_answers({SNR: source})), Limits(timeout=60))
    seen = probe_report(report["exercises"][SNR]["feedback"])
    writable = [w for w in seen.pop("write", []) if not str(w).startswith("/dev")]
    assert seen == {} and writable == [], (seen, writable)


# --- (4) the harness's descriptors, reopened through /proc ----------------------------------------------------

# "It has no descriptor of the grader's (results travel through a shared mapping, so nothing an earlier cell
# writes can reach a later exercise's result)." The child closes every inherited descriptor, but it runs as
# the harness's user: /proc/1/fd/N reopens the harness's own result pipe to the grader, and the grader keeps
# the first frame it reads for each exercise.
FRAME_FORGER = '''
import json as _json
import os as _os

def _forge(frames):
    for fd in _os.listdir("/proc/1/fd"):
        try:
            if fd != "0" and _os.readlink(f"/proc/1/fd/{fd}").startswith("pipe:"):
                out = _os.open(f"/proc/1/fd/{fd}", _os.O_WRONLY)
                for index, body in frames:
                    _os.write(out, f"{index} {len(body)}\\n".encode() + body)
                _os.close(out)
        except OSError:
            pass
'''

FORGE_LATER = FRAME_FORGER + '''
_FORGED = []

def weight_perturbation_gradient(params, x, y, perturbations, sigma, activation="sigmoid"):
    if not _FORGED:
        _FORGED.append(True)
        body = _json.dumps({"outcome": {"sandbox_error": "FORGED by exercise 1"}, "seconds": 0, "skipped": []})
        _forge([(i, body.encode()) for i in (1, 2, 3)])
    return {name: np.zeros_like(value) for name, value in params.items()}
'''


@pytest.fixture(params=["as root", "as an ordinary user"])
def sandbox_mode(request, monkeypatch):
    """The grader as root (each sandbox its own user id: the harness's pipes belong to root), or as an
    ordinary user (bubblewrap maps that user to 65534 in a user namespace of its own: the pipes belong to
    the very user the sandbox runs as). The second is emulated here by the grader's own test of its
    mode, os.geteuid(), reading non-zero: the sandbox then starts exactly as an ordinary user's does."""
    if request.param == "as an ordinary user":
        if os.geteuid() != 0:
            pytest.skip("already an ordinary user")
        monkeypatch.setattr(os, "geteuid", lambda: 1000)
    return request.param


@needs_bwrap
def test_an_answer_cannot_write_another_exercises_result(tmp_path, sandbox_mode, request):
    """(4) Exercise 1's answer writes results for exercises 2 to 4 into the harness's pipe: the grader must
    not take them (exercises 2 to 4 are right and keep their marks). As root the pipe is root's, and the
    open fails; as an ordinary user it is the sandbox user's own."""
    report = grade(write(tmp_path / "01_perturbation", with_answers({WP: FORGE_LATER})), Limits(timeout=20))
    later = {e: (report["exercises"][e]["score"], report["exercises"][e]["feedback"]) for e in (NP, SNR, STEP)}
    assert all(score > 0 for score, _ in later.values()), later


FORGE_NESTED = FRAME_FORGER + '''
_FORGED = []

def weight_perturbation_gradient(params, x, y, perturbations, sigma, activation="sigmoid"):
    if not _FORGED:
        _FORGED.append(True)
        _forge([(1, b"[" * 200_000 + b"]" * 200_000)])
    return {name: np.zeros_like(value) for name, value in params.items()}
'''


@needs_bwrap
def test_a_garbled_result_costs_only_its_exercise(tmp_path, sandbox_mode, request):
    """(3)/(4) A result frame nested 200,000 deep (json.loads raises RecursionError, not ValueError) costs
    at most the exercises it claims: the notebook is graded and the others keep their marks."""
    report = grade(write(tmp_path / "01_perturbation", with_answers({WP: FORGE_NESTED})), Limits(timeout=20))
    assert report["exercises"][SNR]["score"] == 2 and report["exercises"][STEP]["score"] == 1, report["exercises"]


# The same RecursionError one level down: the harness reads each child's result from the shared channel with
# json.loads and catches ValueError only. An earlier cell (exercise 1's answer cell, run before every later
# answer) writes a result nested 200,000 deep into the channel and ends the process: the harness dies in every
# sandbox that runs that cell, so every later exercise is lost, where an earlier cell that ends the process
# should be skipped.
CHANNEL_NESTED = '''
import os as _os
import sys as _sys

def _channel():
    frame = _sys._getframe()
    while frame is not None:
        found = frame.f_locals.get("channel")
        if found is not None and hasattr(found, "write"):
            return found
        frame = frame.f_back

if _channel() is not None:
    _channel().write(b"[" * 200_000 + b"]" * 200_000)
    _os._exit(0)

def weight_perturbation_gradient(params, x, y, perturbations, sigma, activation="sigmoid"):
    return {name: np.zeros_like(value) for name, value in params.items()}
'''


@needs_bwrap
def test_an_earlier_cell_that_garbles_the_channel_costs_only_its_exercise(tmp_path):
    """(4) Exercise 1's answer cell writes a deeply nested result into the channel and ends the process:
    it is skipped for the later exercises, which keep their marks."""
    report = grade(write(tmp_path / "01_perturbation", with_answers({WP: CHANNEL_NESTED})), Limits(timeout=20))
    later = {e: (report["exercises"][e]["score"], report["exercises"][e]["feedback"][:120]) for e in (NP, SNR, STEP)}
    assert all(score > 0 for score, _ in later.values()), later


# --- (4) one student and another, graded side by side ---------------------------------------------------------

ATTACKER_STEP = '''
import os as _os, socket as _socket, subprocess as _subprocess, sys as _sys, time as _time

_marks = []
for _folder in ("/tmp", "/dev/shm", "/var/tmp", "/run", _os.path.expanduser("~")):
    try:
        with open(_os.path.join(_folder, "redteam-mark"), "w") as _f:
            _f.write("from the other student")
        _marks.append(_folder)
    except OSError:
        pass
try:
    _sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    _sock.bind("\\0redteam-mark")
    _sock.listen(8)
except OSError:
    pass
try:
    _subprocess.Popen([_sys.executable, "-c", "import time; time.sleep(30)", "redteam-marker"],
                      start_new_session=True)
except OSError:
    pass
_time.sleep(12)        # hold the marks while the other student is graded

def largest_stable_step(gradient, hessian, num_samples):
    return 0.0
'''

VICTIM_STEP = '''
import os as _os, socket as _socket, time as _time

def _foreign():
    for folder in ("/tmp", "/dev/shm", "/var/tmp", "/run", _os.path.expanduser("~")):
        if _os.path.exists(_os.path.join(folder, "redteam-mark")):
            return True
    try:
        probe = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        probe.connect("\\0redteam-mark")
        return True
    except OSError:
        pass
    for pid in (p for p in _os.listdir("/proc") if p.isdigit()):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"redteam-marker" in f.read():
                    return True
        except OSError:
            pass
    return False

_SAW = []
_until = _time.monotonic() + 8
while _time.monotonic() < _until and not _SAW:
    if _foreign():
        _SAW.append(True)
    _time.sleep(0.2)

def largest_stable_step(gradient, hessian, num_samples):
    g2 = gradient @ gradient
    value = float(2 * g2 / ((gradient @ hessian @ gradient) * (1 + 1 / num_samples) + g2 * np.trace(hessian) / num_samples))
    return -value if _SAW else value
'''


@needs_bwrap
def test_one_student_cannot_reach_another_in_a_batch(tmp_path):
    """(4) Two notebooks graded at once (grade-all, two workers): one leaves files in every writable
    folder, an abstract socket and a detached process; the other, graded meanwhile, sees none of them.
    Both act in the last exercise's answer cell, which only that exercise's children run (an earlier
    answer's cell runs again before every later exercise): the attacker holds its marks for 12 s, the
    victim looks for them for 8 s, in the public and again in the hidden part."""
    root = tmp_path / "submitted"
    write(root / "mallory" / "01_perturbation", with_answers({STEP: ATTACKER_STEP}))
    write(root / "alice" / "01_perturbation", with_answers({STEP: VICTIM_STEP}))
    run = grade_all(root, tmp_path / "grades.csv", workers=2, timeout=300)
    assert run.returncode == 0, run.stderr[-1500:]
    rows = {r["notebook"].split("/")[0]: r for r in json.loads((tmp_path / "grades.json").read_text())}
    alice = rows["alice"]["report"]["exercises"]
    assert alice[STEP]["score"] == 1, alice[STEP]["feedback"]
    assert rows["mallory"]["report"]["exercises"][STEP]["score"] == 0


# --- (2) a hidden fixture's values in the feedback --------------------------------------------------------------

# Marks come from hidden fixtures "whose values the feedback never shows": the grader strips an answer's own
# words from its error on a hidden fixture. But the child holds every fixture it will be called on from the
# start, hidden ones included, and the error on a *public* fixture is shown verbatim: the first call prints
# the hidden inputs. (Their expected values follow by hand, and the next submission can special-case them.)
LEAK_HIDDEN_INPUTS = '''
import gc as _gc
import sys as _sys

def _one_parameter(value):
    samples = value.get("samples") if isinstance(value, dict) else None
    return isinstance(samples, np.ndarray) and samples.ndim == 2 and samples.shape[1] == 1

def gradient_snr(samples):
    found = [item for holder in _gc.get_objects() if isinstance(holder, (list, tuple, dict))   # every fixture
             for item in (holder.values() if isinstance(holder, dict) else holder) if _one_parameter(item)]
    for holder in _gc.get_objects():                                          # (and encoded ones, decoded here)
        if isinstance(holder, dict) and set(holder) == {"dict"} and isinstance(holder["dict"], list):
            try:
                value = _sys.modules["__main__"].decode(holder)
            except Exception:
                continue
            if _one_parameter(value):
                found.append(value)
    for value in found:
        raise ValueError(" ".join(f"{v:.6g}" for v in value["samples"][:, 0]))
    return 0.0
'''


@needs_bwrap
def test_feedback_never_shows_a_hidden_fixtures_values(tmp_path):
    """(2) No feedback holds a hidden fixture's values (here: the samples of gradient_snr's hidden fixture
    with one parameter)."""
    from autograder.core import prepared
    from autograder.exercises import EXERCISES
    report = grade(write(tmp_path / "01_perturbation", with_answers({SNR: LEAK_HIDDEN_INPUTS})), Limits(timeout=20))
    feedback = report["exercises"][SNR]["feedback"]
    fixtures, _ = prepared(EXERCISES[SNR], SECRET)
    one = next(f for f in fixtures if f.hidden and np.shape(f.kwargs["samples"])[1] == 1)
    shown = [f"{v:.6g}" for v in np.asarray(one.kwargs["samples"])[:, 0] if f"{v:.6g}" in feedback]
    assert len(shown) < 3, feedback
