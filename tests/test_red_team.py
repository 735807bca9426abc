"""Red-team probes of the grader, written as a hostile student would try them.

Each test starts from a solved notebook with one or more answer cells replaced, so that an attack that
works shows up as marks for an exercise that is NOT honestly solved (or, for denial of service and
interference, as honest answers that lose their marks). Every test asserts the claim it attacks:

(1) graded code reaches only the assignment's HANDED helpers of the course, and only the students'
    runtime of third-party packages;
(2) marks come from hidden fixtures drawn from the course secret; feedback never reveals a hidden
    fixture's expected values (so learning from feedback across gradings gains nothing);
(3) nothing in a notebook stalls the grader or a batch;
(4) an earlier cell that ends or holds the process costs only its own exercise; one student never
    affects another;
(5) the same notebook and secret always get the same grade;
(6) the inline check never says PASS for an answer that then scores less when graded.

A test that fails here is a finding: the claim does not hold (see the comment on each test).
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from autograder.core import prepared
from autograder.exercises import EXERCISES, HANDED, exercises_of
from autograder.notebook_grading import grade_exercises, grade_notebook
from autograder.sandbox import Limits, bwrap_available
from autograder.secret import Secret

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SECRET_VALUE = "red team secret value"
SECRET = Secret(SECRET_VALUE.encode(), "red team")
SOLUTIONS = {
    "01_perturbation": "perturbation", "02_weight_transport": "weight_transport", "03_eqprop": "eqprop",
    "04_forward_forward": "forward_forward", "05_online": "online", "06_synthesis": "synthesis",
}

pytestmark = pytest.mark.skipif(not bwrap_available(), reason="the claims under test are the sandbox's (bubblewrap)")


# --- helpers -------------------------------------------------------------------------------------------

def solution(assignment: str) -> dict:
    return json.loads((ROOT / "solutions" / assignment / f"{assignment}.ipynb").read_text())


def notebook(assignment: str, replace: dict, extra_cells: list | None = None, at: int | None = None) -> dict:
    """The solved notebook with the answer cells of ``replace`` (exercise id -> source) replaced."""
    nb = solution(assignment)
    found = set()
    for cell in nb["cells"]:
        exercise = cell.get("metadata", {}).get("course", {}).get("exercise")
        if exercise in replace:
            cell["source"] = replace[exercise]
            found.add(exercise)
    assert found == set(replace), f"no answer cell for {set(replace) - found}"
    if extra_cells:
        position = len(nb["cells"]) if at is None else at
        nb["cells"][position:position] = extra_cells
    return nb


def write(tmp_path: Path, assignment: str, nb, name: str | None = None) -> Path:
    path = tmp_path / assignment / f"{name or assignment}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nb if isinstance(nb, str) else json.dumps(nb))
    return path


def grade(tmp_path: Path, assignment: str, nb, **limits) -> dict:
    """Grade in-process with the red team's course secret -> {exercise id: result dict}."""
    path = write(tmp_path, assignment, nb)
    report = grade_notebook(path, limits=Limits(**limits) if limits else None, secret=SECRET)
    return report["exercises"]


def grade_one(assignment: str, nb: dict, exercise_id: str, secret: Secret = SECRET, **limits) -> dict:
    """Grade a single exercise of a notebook node (the same code path, one sandbox, fewer forks)."""
    exercise = EXERCISES[exercise_id]
    result = grade_exercises(nb, [exercise], Limits(**limits), assignment, secret)[exercise_id]
    return result.as_dict()


def cli(args: list, timeout: float, cwd: Path | None = None, env: dict | None = None):
    """Run the grader's command line in its own process group (killed as a group on a timeout)."""
    proc = subprocess.Popen([PYTHON, "-m", "autograder", *args], cwd=cwd or ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "COURSE_SECRET": SECRET_VALUE, **(env or {})})
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err, False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return proc.returncode, out, err, True


def key_of(*arrays) -> str:
    digest = hashlib.sha256()
    for a in arrays:
        a = np.asarray(a, dtype=np.float64)
        digest.update(repr(a.shape).encode())
        digest.update(np.ascontiguousarray(a).tobytes())
    return digest.hexdigest()[:16]


KEY_SOURCE = '''
import hashlib
import numpy as np
def _key(*arrays):
    digest = hashlib.sha256()
    for a in arrays:
        a = np.asarray(a, dtype=np.float64)
        digest.update(repr(a.shape).encode())
        digest.update(np.ascontiguousarray(a).tobytes())
    return digest.hexdigest()[:16]
'''


def public_table(exercise_id: str, inputs) -> dict:
    """{key of a public fixture's inputs: expected output as a list}: what the feedback on public fixtures
    reveals by design (their expected values are printed), here computed directly to save gradings."""
    exercise = EXERCISES[exercise_id]
    table = {}
    for f in exercise.fixtures():
        table[key_of(*[f.kwargs[k] for k in inputs])] = np.asarray(
            exercise.reference(**copy.deepcopy(f.kwargs))).tolist()
    return table


def hidden_fixtures(exercise_id: str, secret: Secret = SECRET):
    fixtures, expected = prepared(EXERCISES[exercise_id], secret)
    return [(f, e) for f, e in zip(fixtures, expected) if f.hidden]


def honest_marks(results: dict, skip=()) -> dict:
    return {k: r["score"] for k, r in results.items() if k not in skip}


def full_marks(assignment: str, skip=()) -> dict:
    return {e.id: e.points for e in exercises_of(SOLUTIONS[assignment]) if e.id not in skip}


# =====================================================================================================
# (1) reach: of the course, only HANDED; of third-party packages, only the students' runtime
# =====================================================================================================

def test_withheld_rho_recovered_from_the_sealed_copys_file(tmp_path):
    """debug_rho is graded with course_utils.eqprop.rho sealed (withheld_while_graded), but the sealed
    copy of 03 keeps rho's source (rho is HANDED in 03): read the file at call time and exec it."""
    attack = '''
def hard_sigmoid(s):
    import course_utils.eqprop as module
    namespace = {}
    exec(open(module.__file__).read(), namespace)
    return namespace["rho"](s)
'''
    results = grade(tmp_path, "03_eqprop", notebook("03_eqprop", {"eqprop.debug_rho": attack}))
    assert results["eqprop.debug_rho"]["score"] == 0, results["eqprop.debug_rho"]["feedback"]


def test_withheld_rho_recovered_by_reloading_at_call_time(tmp_path):
    """The patch check (_changes) runs after the answer cell, not after the calls: reload the module
    inside the function, when the fixtures are run, and the withheld rho is back."""
    attack = '''
def hard_sigmoid(s):
    import importlib
    import course_utils.eqprop as module
    importlib.reload(module)
    return module.rho(s)
'''
    results = grade(tmp_path, "03_eqprop", notebook("03_eqprop", {"eqprop.debug_rho": attack}))
    assert results["eqprop.debug_rho"]["score"] == 0, results["eqprop.debug_rho"]["feedback"]


def test_withheld_rho_not_found_by_gc_or_module_state(tmp_path):
    """Look for a surviving original rho (gc, every module's globals, sys.modules) while debug_rho is
    graded."""
    attack = '''
import gc, sys, types
def hard_sigmoid(s):
    candidates = [o for o in gc.get_objects() if isinstance(o, types.FunctionType) and o.__name__ == "rho"]
    for module in list(sys.modules.values()):
        candidates += [v for v in vars(module).values() if isinstance(v, types.FunctionType) and v.__name__ == "rho"] \\
            if module is not None else []
    for f in candidates:
        try:
            return f(s)
        except Exception:
            continue
    raise NotImplementedError
'''
    results = grade(tmp_path, "03_eqprop", notebook("03_eqprop", {"eqprop.debug_rho": attack}))
    assert results["eqprop.debug_rho"]["score"] == 0, results["eqprop.debug_rho"]["feedback"]


def test_feedback_alignment_from_the_replacement_backprops_globals(tmp_path):
    """Give up backprop_gradients (raise), mention it in later answers: the grader re-grades them with
    the course's backprop_gradients, shipped as standalone code whose __globals__ hold the sealed,
    withheld _error_signals; FA and DFA are then one lambda each."""
    give_up = '''
def backprop_gradients(params, x, y, activation="sigmoid"):
    raise NotImplementedError
'''
    fa = '''
def feedback_alignment_gradients(params, feedback, x, y, activation="sigmoid"):
    skeleton = backprop_gradients.__globals__["_error_signals"]
    return skeleton(params, x, y, activation, send_back=lambda l, d, e: d @ feedback[f"B{l - 1}"].T)
'''
    dfa = '''
def direct_feedback_alignment_gradients(params, feedback, x, y, activation="sigmoid"):
    skeleton = backprop_gradients.__globals__["_error_signals"]
    return skeleton(params, x, y, activation, send_back=lambda l, d, e: e @ feedback[f"B{l - 1}"].T)
'''
    results = grade(tmp_path, "02_weight_transport", notebook("02_weight_transport", {
        "weight_transport.backprop_gradients": give_up, "weight_transport.feedback_alignment": fa,
        "weight_transport.direct_feedback_alignment": dfa}))
    gained = {k: results[k]["score"] for k in ("weight_transport.feedback_alignment",
                                               "weight_transport.direct_feedback_alignment")}
    assert gained == {"weight_transport.feedback_alignment": 0, "weight_transport.direct_feedback_alignment": 0}, \
        results["weight_transport.feedback_alignment"]["feedback"]


def test_withheld_rho_from_the_replacement_energys_globals(tmp_path):
    """The same door in 03: energy given up, debug_rho mentions energy; the course's energy stands in,
    and its __globals__ carry the unsealed rho while rho itself is withheld."""
    give_up = '''
def energy(params, x, h, y):
    raise NotImplementedError
'''
    attack = '''
def hard_sigmoid(s):
    return energy.__globals__["rho"](s)
'''
    results = grade(tmp_path, "03_eqprop", notebook("03_eqprop", {"eqprop.energy": give_up, "eqprop.debug_rho": attack}))
    assert results["eqprop.debug_rho"]["score"] == 0, results["eqprop.debug_rho"]["feedback"]


def test_replacement_code_never_enters_the_sandbox(tmp_path, monkeypatch):
    """Structural: when the course's function stands in for a failing earlier answer, what the sandbox
    receives names it and carries the results of the calls the grader computed, never its code."""
    from autograder import notebook_grading
    sent = []
    real = notebook_grading.run_batch

    def spy(batch, limits, deadline=None):
        sent.append(json.dumps(batch.exercises))
        return real(batch, limits, deadline)

    monkeypatch.setattr(notebook_grading, "run_batch", spy)
    give_up = 'def embed_label(x, labels, num_classes=10):\n    raise NotImplementedError\n'
    results = grade(tmp_path, "04_forward_forward", notebook("04_forward_forward", {
        "forward_forward.embed_label": give_up}))
    stood_in = [k for k, r in results.items() if "in place of yours" in r["feedback"]]
    assert stood_in == ["forward_forward.predict"] and results[stood_in[0]]["score"] == 2, results
    assert len(sent) >= 2
    for job in sent[1:]:          # (the first: the notebook's own cells, with the student's code)
        assert "def " not in job and "course_utils" not in job


def test_replacement_reference_source_leaks_through_feedback(tmp_path):
    """During the re-grade the stand-in's source text is in the child's job; a result with an unexpected
    key is echoed in the feedback (status 'wrong', so the re-grade is kept): ~190 characters of the
    course's reference per grading, paged over several gradings."""
    give_up = '''
def backprop_gradients(params, x, y, activation="sigmoid"):
    raise NotImplementedError
'''
    leak = '''
import sys
import numpy as np
def feedback_alignment_gradients(params, feedback, x, y, activation="sigmoid"):
    # backprop_gradients is named here, so the grader re-grades with the course's one
    frame = sys._getframe()
    while frame is not None and "job" not in frame.f_locals:
        frame = frame.f_back
    replace = frame.f_locals["job"].get("replace") if frame is not None else None
    if not replace:
        raise ValueError("first run")
    source = replace[0]["modules"][-1]["source"]
    out = {k: np.zeros_like(v) for k, v in params.items()}
    out[source[source.find("def _error_signals"):][:190]] = np.zeros(1)
    return out
'''
    results = grade(tmp_path, "02_weight_transport", notebook("02_weight_transport", {
        "weight_transport.backprop_gradients": give_up, "weight_transport.feedback_alignment": leak}))
    feedback = results["weight_transport.feedback_alignment"]["feedback"]
    assert "def _error_signals(params, x, y, activation, send_back)" not in feedback, feedback


def test_sealed_placeholders_and_handed_helpers_lead_nowhere(tmp_path):
    """Every in-process route to gradient_snr's reference: the Sealed placeholders' slots, pickling,
    gc referents, the handed helpers' __globals__, the JAX twin, metrics, importlib of the files."""
    attack = '''
import gc, importlib, importlib.util, pickle, sys, types
import numpy as np
def gradient_snr(samples):
    tries = []
    for name in ("course_utils.perturbation", "course_utils.metrics", "course_utils.jax.perturbation"):
        try:
            module = importlib.import_module(name)
        except Exception:
            continue
        obj = vars(module).get("gradient_snr")
        tries.append(obj)
        for slot in ("_name", "_why", "__wrapped__", "__func__", "fun"):
            try:
                tries.append(object.__getattribute__(obj, slot))
            except Exception:
                pass
        try:
            tries.append(pickle.loads(pickle.dumps(obj)))
        except Exception:
            pass
        try:
            tries += gc.get_referents(obj)
            tries += gc.get_referrers(obj)
        except Exception:
            pass
        try:
            spec = importlib.util.spec_from_file_location("copy_" + name.replace(".", "_"), module.__file__)
            fresh = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(fresh)
            tries.append(vars(fresh).get("gradient_snr"))
        except Exception:
            pass
    tries += [forward.__globals__.get("gradient_snr"), mse_loss.__globals__.get("gradient_snr")]
    for f in tries:
        if callable(f):
            try:
                return float(f(samples))
            except Exception:
                continue
    raise NotImplementedError
'''
    results = grade(tmp_path, "01_perturbation", notebook("01_perturbation", {"perturbation.gradient_snr": attack}))
    assert results["perturbation.gradient_snr"]["score"] == 0, results["perturbation.gradient_snr"]["feedback"]


def test_no_course_source_anywhere_on_the_sandboxs_file_system(tmp_path):
    """Walk the sandbox's readable file system (outside /proc, /sys, /dev) for a file holding the reference
    of gradient_snr (a .py, or cached bytecode) and use it."""
    attack = '''
import os, time, marshal
def gradient_snr(samples):
    deadline = time.monotonic() + 25
    for root in ("/opt", "/work", "/root", "/home", "/srv", "/mnt", "/var", "/etc", "/tmp", "/usr/local", "/usr/lib/python3"):
        for folder, dirs, files in os.walk(root):
            if time.monotonic() > deadline:
                break
            for name in files:
                if not name.endswith((".py", ".pyc")) or "perturbation" not in name and "metrics" not in name:
                    continue
                path = os.path.join(folder, name)
                try:
                    data = open(path, "rb").read()
                    if name.endswith(".pyc"):
                        code = marshal.loads(data[16:])
                    elif b"def gradient_snr(" in data and b"np.mean" in data:
                        code = compile(data, path, "exec")
                    else:
                        continue
                    namespace = {"__name__": "found"}
                    exec(code, namespace)
                    return float(namespace["gradient_snr"](samples))
                except Exception:
                    continue
    raise NotImplementedError
'''
    results = grade(tmp_path, "01_perturbation", notebook("01_perturbation", {"perturbation.gradient_snr": attack}))
    assert results["perturbation.gradient_snr"]["score"] == 0, results["perturbation.gradient_snr"]["feedback"]


def _foreign_module():
    """A pure-Python third-party module installed outside any site-packages (Debian's dist-packages),
    which the runtime does not offer: (folder, module name) or None."""
    import glob

    from autograder import runtime
    offered = runtime.modules() | set(sys.stdlib_module_names)
    for folder in glob.glob("/usr/lib/python3/dist-packages") + glob.glob("/usr/local/lib/python3*/dist-packages"):
        for name in ("six", "toml", "xmltodict", "yaml", "distro", "jwt", "oauthlib", "httplib2", "blinker"):
            if name in offered:
                continue
            if os.path.exists(os.path.join(folder, name + ".py")) or \
                    os.path.exists(os.path.join(folder, name, "__init__.py")):
                return folder, name
    return None


def test_third_party_package_from_system_dist_packages(tmp_path):
    """/usr is mounted whole: Debian's /usr/lib/python3/dist-packages (yaml, six, toml, ... for the same
    Python 3.11) is readable, and a sys.path entry away. The answer is right only if the import works."""
    found = _foreign_module()
    if found is None:
        pytest.skip("no third-party package outside site-packages on this machine")
    folder, name = found
    attack = f'''
import importlib, sys
def error_rate(outputs, targets):
    sys.path.append({folder!r})
    importlib.import_module({name!r})          # not in the students' runtime
    return float(np.mean(np.argmax(outputs, axis=1) != np.argmax(targets, axis=1)))
'''
    results = grade(tmp_path, "03_eqprop", notebook("03_eqprop", {"eqprop.debug_error_rate": attack}))
    assert results["eqprop.debug_error_rate"]["score"] == 0, results["eqprop.debug_error_rate"]["feedback"]


def test_grader_only_packages_unreachable_by_any_path(tmp_path):
    """torch, nengo, dask, nbgrader, pytest: through every site-packages path the grader's interpreter has
    (they are empty in the sandbox), and by name."""
    import site
    paths = sorted({p for p in sys.path if "site-packages" in p or "dist-packages" in p} | set(site.getsitepackages()))
    attack = f'''
import importlib, sys
def gradient_snr(samples):
    sys.path.extend({paths!r})
    for name in ("torch", "nengo", "dask", "nbgrader", "pytest", "distributed", "copydetect"):
        try:
            importlib.import_module(name)
        except Exception:
            continue
        samples = np.asarray(samples, dtype=np.float64)
        mean, std = samples.mean(axis=0), samples.std(axis=0)
        return float(np.mean(np.abs(mean[std > 0]) / std[std > 0]))
    raise NotImplementedError
'''
    results = grade(tmp_path, "01_perturbation", notebook("01_perturbation", {"perturbation.gradient_snr": attack}))
    assert results["perturbation.gradient_snr"]["score"] == 0, results["perturbation.gradient_snr"]["feedback"]


# =====================================================================================================
# (2) hidden fixtures and the secret
# =====================================================================================================

def test_secret_not_readable_in_the_sandbox(tmp_path):
    """Environment, every /proc entry's environ and cmdline, the files the harness holds, /tmp: look for
    the course secret (set in the grader's environment) and report it through the feedback."""
    marker = "rt-" + hashlib.sha256(str(time.time()).encode()).hexdigest()[:20]
    attack = f'''
import os
def gradient_snr(samples):
    found = []
    if any("{marker}" in v for v in os.environ.values()):
        found.append("env")
    for pid in os.listdir("/proc"):
        for part in ("environ", "cmdline"):
            try:
                if b"{marker}" in open(f"/proc/{{pid}}/{{part}}", "rb").read():
                    found.append(pid + part)
            except Exception:
                pass
        try:
            for fd in os.listdir(f"/proc/{{pid}}/fd"):
                try:
                    if b"{marker}" in open(f"/proc/{{pid}}/fd/{{fd}}", "rb").read(1 << 20):
                        found.append(pid + "fd" + fd)
                except Exception:
                    pass
        except Exception:
            pass
    for folder, dirs, files in os.walk("/tmp"):
        for name in files:
            try:
                if b"{marker}" in open(os.path.join(folder, name), "rb").read():
                    found.append(name)
            except Exception:
                pass
    raise ValueError("FOUND " + ",".join(found) if found else "NOTFOUND")
'''
    path = write(tmp_path, "01_perturbation", notebook("01_perturbation", {"perturbation.gradient_snr": attack}))
    code, out, err, timed_out = cli(["grade", str(path), "--json"], timeout=90, env={"COURSE_SECRET": marker})
    assert code == 0 and not timed_out, err
    feedback = json.loads(out)["exercises"]["perturbation.gradient_snr"]["feedback"]
    assert "NOTFOUND" in feedback and marker not in feedback, feedback


def test_hidden_fixture_values_never_in_feedback(tmp_path):
    """An answer that raises with its input's values: the feedback of a hidden fixture must show no value.
    For debug_rho, a hidden kind 'inside (0, 1)' has expected value == input, and the kinds before it
    are answered from their names ('all negative' -> 0, 'all above 1' -> 1), public ones from the table
    that public feedback reveals by design."""
    table = public_table("eqprop.debug_rho", ["s"])
    attack = KEY_SOURCE + f'''
TABLE = {table!r}
def hard_sigmoid(s):
    s = np.asarray(s, dtype=np.float64)
    if _key(s) in TABLE:
        return np.array(TABLE[_key(s)])
    if np.all(s <= 0):
        return np.zeros_like(s)
    if np.all(s >= 1):
        return np.ones_like(s)
    raise ValueError(" ".join(f"{{v:.6f}}" for v in s.ravel()[:12]))
'''
    result = grade_one("03_eqprop", notebook("03_eqprop", {"eqprop.debug_rho": attack}), "eqprop.debug_rho")
    assert result["hidden"], result["feedback"]
    revealed = []
    for fixture, expected in hidden_fixtures("eqprop.debug_rho"):
        if fixture.label == result["fixture"]:
            values = expected[""].ravel()[:12]
            revealed = [v for v in values if f"{v:.6f}" in result["feedback"]]
            break
    assert revealed == [], f"hidden expected values in the feedback: {result['feedback']}"


def test_equality_oracle_over_repeated_gradings_learns_a_hidden_answer(tmp_path):
    """Adaptive: the feedback names the first failing fixture and, for a hidden one, the first index that
    differs. With discrete outputs (hard_negative_labels: labels 0-9), guessing element by element over
    repeated gradings recovers a hidden fixture's expected value without solving anything: a table of
    answers read from earlier feedback. Claim: after a dozen gradings nothing hidden is learned."""
    exercise = "forward_forward.hard_negatives"
    known = {key_of(f.kwargs["scores"]): np.asarray(EXERCISES[exercise].reference(**copy.deepcopy(f.kwargs))).tolist()
             for f in EXERCISES[exercise].fixtures()}          # public: revealed by feedback, by design
    public = set(known)
    guess: dict = {}
    learned = []
    for _ in range(12):
        answer = KEY_SOURCE + f'''
KNOWN = {known!r}
GUESS = {guess!r}
def hard_negative_labels(scores, labels):
    key = _key(scores)
    if key in KNOWN:
        return np.array(KNOWN[key])
    if key in GUESS:
        return np.array(GUESS[key])
    raise ValueError(f"KEY {{key}} N {{len(labels)}}")
'''
        result = grade_one("04_forward_forward", notebook("04_forward_forward", {exercise: answer}), exercise)
        feedback = result["feedback"]
        new = re.search(r"KEY ([0-9a-f]{16}) N (\d+)", feedback)
        for key in list(guess):          # a guessed fixture that no longer fails has been learned
            if new and new.group(1) != key:
                known[key] = guess.pop(key)
                learned.append(key)
        if result["score"] > 0:
            break
        if new:
            guess[new.group(1)] = [0] * int(new.group(2))
            continue
        wrong = re.search(r"\[(\d+)\] differs from the expected value", feedback) or \
            re.search(r"the result differs from the expected value", feedback)
        if not (wrong and guess):
            break
        key = next(iter(guess))
        index = int(wrong.group(1)) if wrong.groups() else 0
        guess[key][index] += 1
    assert [k for k in learned if k not in public] == [], f"learned {len(learned)} hidden fixture(s) from feedback"


def test_forged_result_in_the_channel_earns_nothing(tmp_path):
    """Write a forged result straight into the shared result mapping (found through the frames), with the
    public answers right and zeros for the hidden ones, then end the process before the real one."""
    table = public_table("perturbation.gradient_snr", ["samples"])
    attack = KEY_SOURCE + f'''
import base64, json, os, sys
TABLE = {table!r}
def gradient_snr(samples):
    frame = sys._getframe()
    while frame is not None and not ("channel" in frame.f_locals and "job" in frame.f_locals):
        frame = frame.f_back
    channel, job = frame.f_locals["channel"], frame.f_locals["job"]
    fixtures = []
    for kwargs in job["fixtures"]:
        value = np.asarray(TABLE.get(_key(kwargs["samples"]), 0.0), dtype=np.float64)
        fixtures.append({{"error": None, "float32": True,
                         "arrays": {{"": {{"nd": ["<f8", list(value.shape), base64.b64encode(value.tobytes()).decode()]}}}}}})
    channel.write(json.dumps({{"error": None, "fixtures": fixtures}}).encode())
    os._exit(0)
'''
    results = grade(tmp_path, "01_perturbation", notebook("01_perturbation", {"perturbation.gradient_snr": attack}))
    assert results["perturbation.gradient_snr"]["score"] == 0, results["perturbation.gradient_snr"]["feedback"]


# =====================================================================================================
# (3) no notebook stalls the grader or a batch
# =====================================================================================================

def _batch(tmp_path: Path, honest=("alice",)) -> Path:
    root = tmp_path / "submitted"
    for student in honest:
        folder = root / student / "01_perturbation"
        folder.mkdir(parents=True)
        shutil.copy(ROOT / "solutions" / "01_perturbation" / "01_perturbation.ipynb", folder)
    return root


def _grades(tmp_path: Path) -> dict:
    rows = json.loads((tmp_path / "grades.json").read_text())
    return {r["notebook"].split("/")[0]: r for r in rows}


def test_fifo_named_like_a_notebook_does_not_stall_grade_all(tmp_path):
    """A named pipe as mallory's notebook (tar keeps FIFOs): grade-all reads it (Path.read_bytes in
    _prepare, no is_file check) and waits for a writer forever; alice is never graded."""
    root = _batch(tmp_path)
    (root / "mallory" / "01_perturbation").mkdir(parents=True)
    os.mkfifo(root / "mallory" / "01_perturbation" / "01_perturbation.ipynb")
    code, out, err, timed_out = cli(["grade-all", str(root), "--out", str(tmp_path / "grades.csv"), "--workers", "1"],
                                    timeout=35)
    assert not timed_out, "grade-all stalled on a FIFO"
    assert _grades(tmp_path)["alice"]["report"]["score"] == 8


def test_deep_folder_tree_does_not_stop_grade_all(tmp_path):
    """mallory's submission folder holds a chain of 1,100 nested folders: os.walk (recursive in Python
    3.11) raises RecursionError in find_notebooks, uncaught, and nobody is graded."""
    root = _batch(tmp_path)
    deep = root / "mallory" / "01_perturbation"
    deep.mkdir(parents=True)
    fd = os.open(deep, os.O_RDONLY)
    try:
        for _ in range(1100):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
    finally:
        os.close(fd)
    try:
        code, out, err, timed_out = cli(["grade-all", str(root), "--out", str(tmp_path / "grades.csv"), "--workers", "1"],
                                        timeout=60)
        assert code == 0 and not timed_out, err[-500:]
        assert _grades(tmp_path)["alice"]["report"]["score"] == 8
    finally:
        subprocess.run(["rm", "-rf", str(root / "mallory")], check=False)


def test_deeply_nested_json_is_one_line(tmp_path):
    """100,000 nested lists in a cell's metadata: a one-line refusal, quickly (no recursion in the grader)."""
    text = json.dumps(solution("01_perturbation"))
    text = text.replace('"metadata": {', '"metadata": {"x": ' + "[" * 100_000 + "]" * 100_000 + ", ", 1)
    path = write(tmp_path, "01_perturbation", text)
    start = time.monotonic()
    code, out, err, timed_out = cli(["grade", str(path), "--json"], timeout=60)
    assert not timed_out and time.monotonic() - start < 30
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err[-300:]


def test_more_than_2000_cells_is_a_one_line_refusal(tmp_path):
    """README: 'A submission may have 20 MB and 2,000 cells (beyond either it is a one-line error row)'.
    MAX_CELLS is declared but never checked: 200,000 empty cells are parsed and planned."""
    nb = solution("01_perturbation")
    nb["cells"] += [{"cell_type": "markdown", "metadata": {}, "source": ""} for _ in range(200_000)]
    path = write(tmp_path, "01_perturbation", nb)
    start = time.monotonic()
    code, out, err, timed_out = cli(["grade", str(path), "--json"], timeout=90)
    assert not timed_out and time.monotonic() - start < 60
    assert code == 1 and ("2,000" in err or "2000" in err), (code, err[-300:])


def test_pathological_cell_sources_are_linear(tmp_path):
    """19 MB of one exercise's function name, 'def ' prefixes and unbalanced brackets, in untagged code
    cells (so the parent looks for definitions in them), with the honest answers kept."""
    nb = solution("01_perturbation")
    for cell in nb["cells"]:               # tags lost: answers are found by their definitions
        cell.get("metadata", {}).get("course", {}).pop("exercise", None)
    chunk = ("def gradient_snr" * 20_000 + "\n" + "    def (" * 20_000 + "((((" * 50_000 + "\n")
    nb["cells"] += [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                     "source": chunk} for _ in range(19_000_000 // len(chunk))]
    path = write(tmp_path, "01_perturbation", nb)
    start = time.monotonic()
    code, out, err, timed_out = cli(["grade", str(path), "--json"], timeout=120)
    assert not timed_out and code == 0, err[-300:]
    assert time.monotonic() - start < 90
    marks = {k: r["score"] for k, r in json.loads(out)["exercises"].items()}
    assert marks == full_marks("01_perturbation")


def test_unhashable_exercise_tag_is_graded_or_one_line(tmp_path):
    """A markdown cell tagged with an unhashable exercise id (a list): check_content builds a set of the
    tags and raises TypeError; the honest answers must keep their marks, or the grader says why in one
    line (never a traceback)."""
    nb = solution("01_perturbation")
    nb["cells"].insert(0, {"cell_type": "markdown", "metadata": {"course": {"exercise": ["x"]}}, "source": "hi"})
    path = write(tmp_path, "01_perturbation", nb)
    code, out, err, timed_out = cli(["grade", str(path), "--json"], timeout=90)
    assert not timed_out and "Traceback" not in err, err[-400:]
    assert code == 0, err[-300:]
    marks = {k: r["score"] for k, r in json.loads(out)["exercises"].items()}
    assert marks == full_marks("01_perturbation")


def test_surrogates_nuls_and_bidi_characters_are_graded(tmp_path):
    """A lone surrogate and NULs in a tools cell's source, bidi and control characters in its role and in
    the notebook's metadata: the honest answers keep their marks and the JSON report is valid."""
    nb = solution("01_perturbation")
    nb["metadata"]["course"]["tutorial"] = "perturbation"
    nb["metadata"]["\u202e\x00"] = "\ud800"
    nb["cells"].append({"cell_type": "code", "metadata": {"course": {"role": "tools\u202e\x00"}}, "outputs": [],
                        "execution_count": None, "source": "x = '\ud800\x00'"})
    nb["cells"].append({"cell_type": "code", "metadata": {"course": {"role": "setup"}}, "outputs": [],
                        "execution_count": None, "source": "\ud800 = 1\n\x00"})
    path = write(tmp_path, "01_perturbation", nb)
    code, out, err, timed_out = cli(["grade", str(path), "--json"], timeout=90)
    assert not timed_out and code == 0 and "Traceback" not in err, err[-400:]
    marks = {k: r["score"] for k, r in json.loads(out)["exercises"].items()}
    assert marks == full_marks("01_perturbation")


def test_huge_results_cost_only_their_exercise(tmp_path):
    """One answer returns 7 MB per fixture (over the 8 MB channel in all): only that exercise loses."""
    attack = '''
def gradient_snr(samples):
    return np.ones(900_000)
'''
    results = grade(tmp_path, "01_perturbation", notebook("01_perturbation", {"perturbation.gradient_snr": attack}))
    assert results["perturbation.gradient_snr"]["score"] == 0
    assert honest_marks(results, ["perturbation.gradient_snr"]) == full_marks("01_perturbation", ["perturbation.gradient_snr"])


# =====================================================================================================
# (4) an earlier cell costs only its own exercise; students never affect each other
# =====================================================================================================

def test_earlier_cell_that_kills_the_harness_costs_only_its_exercise(tmp_path):
    """The answer cell of the first exercise (an earlier cell of every later one) kills its parent: the
    harness runs as the same sandbox user, so SIGKILL is allowed. Every re-grade runs the cell again."""
    attack = '''
import os, signal
def weight_perturbation_gradient(params, x, y, perturbations, sigma, activation="sigmoid"):
    raise NotImplementedError
os.kill(os.getppid(), signal.SIGKILL)
'''
    results = grade(tmp_path, "01_perturbation", notebook("01_perturbation", {"perturbation.weight_perturbation": attack}))
    skip = ["perturbation.weight_perturbation"]
    assert honest_marks(results, skip) == full_marks("01_perturbation", skip), \
        results["perturbation.node_perturbation"]["feedback"]


def test_detached_process_from_an_earlier_cell_costs_only_its_exercise(tmp_path):
    """The earlier cell returns normally, but leaves a process in a session of its own (out of the
    child's process group, so killpg misses it) that kills the harness a moment later: the kill is then
    blamed on no cell. The later answers are honest and a little slow."""
    attack = '''
import os, signal, time
def weight_perturbation_gradient(params, x, y, perturbations, sigma, activation="sigmoid"):
    raise NotImplementedError
_harness = os.getppid()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(0.2)
        os.kill(_harness, signal.SIGKILL)
    os._exit(0)
os.wait()
'''
    nb = notebook("01_perturbation", {"perturbation.weight_perturbation": attack})
    for cell in nb["cells"]:     # honest answer cells that take a moment (0.3 s) to run
        if cell.get("metadata", {}).get("course", {}).get("exercise") not in (None, "perturbation.weight_perturbation"):
            cell["source"] = "".join(cell["source"]) + "\nimport time as _time\n_time.sleep(0.3)\n"
    results = grade(tmp_path, "01_perturbation", nb)
    skip = ["perturbation.weight_perturbation"]
    assert honest_marks(results, skip) == full_marks("01_perturbation", skip), \
        {k: r["feedback"][:120] for k, r in results.items()}


def test_earlier_cells_that_exit_crash_or_ignore_alarms_cost_only_themselves(tmp_path):
    """Earlier cells of the student's own: os._exit, a segfault (ctypes), and a loop that ignores SIGALRM
    and blocks signals: the later, honest answers keep their marks."""
    crash = '''
import ctypes, os
def weight_perturbation_gradient(params, x, y, perturbations, sigma, activation="sigmoid"):
    raise NotImplementedError
ctypes.string_at(0)
'''
    loop = '''
import signal
def node_perturbation_gradient(params, x, y, node_noise, sigma, activation="sigmoid"):
    raise NotImplementedError
signal.signal(signal.SIGALRM, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM, signal.SIGTERM, signal.SIGINT})
while True:
    pass
'''
    results = grade(tmp_path, "01_perturbation", notebook("01_perturbation", {
        "perturbation.weight_perturbation": crash, "perturbation.node_perturbation": loop}),
        timeout=15, earlier_cell_seconds=3)
    skip = ["perturbation.weight_perturbation", "perturbation.node_perturbation"]
    assert honest_marks(results, skip) == full_marks("01_perturbation", skip), \
        {k: r["feedback"][:160] for k, r in results.items()}


def test_looping_earlier_cell_under_an_instructors_timeout_of_10(tmp_path):
    """The same looping earlier cell, graded with --timeout 10 (an instructor's choice for fast exercises):
    an earlier cell is blamed only after earlier_cell_seconds + 2 = 12 s, later than the exercise's own
    deadline, so every later exercise times out instead of skipping the cell."""
    loop = '''
def node_perturbation_gradient(params, x, y, node_noise, sigma, activation="sigmoid"):
    raise NotImplementedError
while True:
    pass
'''
    results = grade(tmp_path, "01_perturbation", notebook("01_perturbation", {"perturbation.node_perturbation": loop}),
                    timeout=10)
    skip = ["perturbation.node_perturbation"]
    assert honest_marks(results, skip) == full_marks("01_perturbation", skip), \
        {k: r["feedback"][:160] for k, r in results.items()}


def _hostile_neighbour() -> str:
    """A notebook cell that tries to reach other sandboxes: signals to every pid and uid it can see,
    files in /tmp, /dev/shm and /var/tmp, and a unix socket in the abstract namespace."""
    return '''
import os, signal, socket
def weight_perturbation_gradient(params, x, y, perturbations, sigma, activation="sigmoid"):
    raise NotImplementedError
for folder in ("/tmp", "/dev/shm", "/var/tmp", "/run"):
    try:
        with open(os.path.join(folder, "01_perturbation.ipynb"), "w") as f:
            f.write("{}")
    except OSError:
        pass
try:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind("\\0course-grader")
except OSError:
    pass
for pid in range(2, 5000):
    if pid not in (os.getpid(), os.getppid()):      # (its own harness would only hold itself)
        try:
            os.kill(pid, signal.SIGSTOP)
        except OSError:
            pass
'''


def test_hostile_neighbour_in_grade_all_leaves_other_students_alone(tmp_path):
    """grade-all with two workers: mallory's earlier cell signals every pid it can, writes in every
    shared-looking folder; alice and bob (honest) are graded at the same time and after."""
    root = _batch(tmp_path, honest=("alice", "bob"))
    folder = root / "mallory" / "01_perturbation"
    folder.mkdir(parents=True)
    (folder / "01_perturbation.ipynb").write_text(json.dumps(
        notebook("01_perturbation", {"perturbation.weight_perturbation": _hostile_neighbour()})))
    code, out, err, timed_out = cli(["grade-all", str(root), "--out", str(tmp_path / "grades.csv"), "--workers", "2"],
                                    timeout=150)
    assert code == 0 and not timed_out, err[-400:]
    grades = _grades(tmp_path)
    assert grades["alice"]["report"]["score"] == 8 and grades["bob"]["report"]["score"] == 8


def test_cpu_hog_does_not_cost_a_neighbour_its_marks(tmp_path):
    """Processes in sessions of their own that re-fork before RLIMIT_CPU (per process) ends them spin for
    as long as mallory's sandbox lives; CPU is not shared out per sandbox. Victims graded at the same
    time, with an instructor's --timeout 3, must keep their marks."""
    hog = '''
import os, time
def weight_perturbation_gradient(params, x, y, perturbations, sigma, activation="sigmoid"):
    time.sleep(30)
def _spin():
    while True:
        start = time.process_time()
        while time.process_time() - start < 1.0:
            pass
        try:
            if os.fork() != 0:
                os._exit(0)
        except OSError:
            pass
for _ in range(40):
    try:
        if os.fork() == 0:
            os.setsid()
            _spin()
    except OSError:
        break
'''
    slow = '''
import time
def {name}(*args, **kwargs):
    time.sleep(30)
'''
    replace = {"perturbation.weight_perturbation": hog}
    for exercise in exercises_of("perturbation")[1:]:
        replace[exercise.id] = slow.format(name=exercise.function_name)
    root = _batch(tmp_path, honest=("b_victim", "c_victim", "d_victim"))
    folder = root / "a_mallory" / "01_perturbation"
    folder.mkdir(parents=True)
    (folder / "01_perturbation.ipynb").write_text(json.dumps(notebook("01_perturbation", replace)))
    code, out, err, timed_out = cli(["grade-all", str(root), "--out", str(tmp_path / "grades.csv"), "--workers", "2",
                                     "--timeout", "3"], timeout=150)
    assert code == 0 and not timed_out, err[-400:]
    grades = _grades(tmp_path)
    for victim in ("b_victim", "c_victim", "d_victim"):
        assert grades[victim]["report"]["score"] == 8, grades[victim]["report"]["exercises"]


# =====================================================================================================
# (5) the same notebook and secret always get the same grade
# =====================================================================================================

def test_string_hashing_is_pinned_so_grades_repeat(tmp_path):
    """sandbox_env sets PYTHONHASHSEED=0, but the harness runs as `python -I`, which ignores PYTHON*
    variables: str hashes (set and dict-of-set orders) change from grading to grading. An answer whose
    result hangs on them (here openly: hash("course") in its error) gets a different grade each time."""
    answer = '''
def gradient_snr(samples):
    if hash("course") % 2:
        raise ValueError(f"odd {hash('course')}")
    raise NotImplementedError(f"even {hash('course')}")
'''
    nb = notebook("01_perturbation", {"perturbation.gradient_snr": answer})
    results = [grade_one("01_perturbation", nb, "perturbation.gradient_snr") for _ in range(2)]
    for r in results:
        r.pop("seconds")
    assert results[0] == results[1], [r["feedback"] for r in results]


def test_pid_host_and_tmp_are_the_same_in_every_grading(tmp_path):
    """The pid, host name and /tmp listing a sandbox shows: the same in every grading (so answers that
    depend on them still grade the same)."""
    answer = '''
import os, socket
def gradient_snr(samples):
    raise ValueError(f"{os.getpid()} {os.getppid()} {socket.gethostname()} {sorted(os.listdir('/tmp'))}")
'''
    nb = notebook("01_perturbation", {"perturbation.gradient_snr": answer})
    feedback = {grade_one("01_perturbation", nb, "perturbation.gradient_snr")["feedback"] for _ in range(2)}
    assert len(feedback) == 1, feedback


def test_time_dependent_answer_grades_the_same_twice(tmp_path):
    """A time bomb: right until a moment written into the notebook, wrong after it. The same notebook and
    secret, graded before and after, must get the same grade (the claim holds only if the grader can
    pin the clock; it cannot pin os.urandom either)."""
    deadline = time.time() + 6
    answer = f'''
import time
def gradient_snr(samples):
    if time.time() > {deadline!r}:
        raise NotImplementedError
    samples = np.asarray(samples, dtype=np.float64)
    mean, std = samples.mean(axis=0), samples.std(axis=0)
    return float(np.mean(np.abs(mean[std > 0]) / std[std > 0]))
'''
    nb = notebook("01_perturbation", {"perturbation.gradient_snr": answer})
    first = grade_one("01_perturbation", nb, "perturbation.gradient_snr")["score"]
    time.sleep(max(0.0, deadline - time.time() + 0.5))
    second = grade_one("01_perturbation", nb, "perturbation.gradient_snr")["score"]
    assert first == second, (first, second)


# =====================================================================================================
# (6) the inline check never says PASS for an answer that then scores less when graded
# =====================================================================================================

def _inline_and_graded(assignment: str, exercise_id: str, source: str, function_name: str, **limits):
    from autograder import check_exercise
    namespace = {"__name__": "__main__"}
    exec(compile(solution_setup(assignment), "<setup>", "exec"), namespace)
    exec(compile(source, "<answer>", "exec"), namespace)
    inline = check_exercise(exercise_id, namespace[function_name])
    graded = grade_one(assignment, notebook(assignment, {exercise_id: source}), exercise_id, **limits)
    return inline, graded


def solution_setup(assignment: str) -> str:
    for cell in solution(assignment)["cells"]:
        if cell.get("metadata", {}).get("course", {}).get("role") == "setup":
            return "".join(cell["source"]).replace("from autograder import assert_exercise", "")
    return ""


def test_inline_pass_with_a_course_constant(tmp_path):
    """A course constant (forward_forward.NUM_CLASSES) is read, never called: the inline profile hook
    sees no call and says PASS; grading seals the constant and the answer fails."""
    source = '''
from course_utils.forward_forward import NUM_CLASSES
def hard_negative_labels(scores, labels):
    masked = np.where(np.eye(NUM_CLASSES, dtype=bool)[labels], -np.inf, scores)
    return np.argmax(masked, axis=1)
'''
    inline, graded = _inline_and_graded("04_forward_forward", "forward_forward.hard_negatives", source,
                                        "hard_negative_labels")
    assert not (inline.passed and graded["score"] < graded["max_score"]), (inline.feedback, graded["feedback"])


def test_inline_pass_with_a_sealed_function_run_in_a_thread(tmp_path):
    """sys.setprofile covers the calling thread only: the withheld reference, run in a worker thread."""
    source = '''
from concurrent.futures import ThreadPoolExecutor
from course_utils import forward_forward as _ff
def hard_negative_labels(scores, labels):
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_ff.hard_negative_labels, scores, labels).result()
'''
    inline, graded = _inline_and_graded("04_forward_forward", "forward_forward.hard_negatives", source,
                                        "hard_negative_labels")
    assert not (inline.passed and graded["score"] < graded["max_score"]), (inline.feedback, graded["feedback"])


def test_inline_pass_after_the_hook_is_unset_by_its_own_exception(tmp_path):
    """A profile function that raises is unset by CPython: catch the first PermissionError, and every
    later call in the same answer goes unchecked (here the withheld reference)."""
    source = '''
from course_utils import config as _config
from course_utils import forward_forward as _ff
def hard_negative_labels(scores, labels):
    try:
        _config.fast_mode()
    except Exception:
        pass
    return _ff.hard_negative_labels(scores, labels)
'''
    inline, graded = _inline_and_graded("04_forward_forward", "forward_forward.hard_negatives", source,
                                        "hard_negative_labels")
    assert not (inline.passed and graded["score"] < graded["max_score"]), (inline.feedback, graded["feedback"])


def test_inline_pass_with_a_package_grading_does_not_offer(tmp_path):
    """torch imported inside the function (no module global for _unoffered_globals to see) and used
    through C functions only (no Python frame in torch's files for the hook)."""
    pytest.importorskip("torch")
    source = '''
def hard_sigmoid(s):
    import torch
    return torch.clamp(torch.from_numpy(np.array(s, dtype=np.float64)), 0.0, 1.0).numpy()
'''
    inline, graded = _inline_and_graded("03_eqprop", "eqprop.debug_rho", source, "hard_sigmoid")
    assert not (inline.passed and graded["score"] < graded["max_score"]), (inline.feedback, graded["feedback"])


def test_inline_pass_through_jaxs_compiled_cache(tmp_path):
    """A jitted JAX twin (course_utils.jax.forward_forward.predict) already compiled for the fixtures'
    shapes (the student ran their predict on such inputs before the check) runs from JAX's C++ cache:
    no Python frame of the course, so the hook never fires; grading seals it."""
    from autograder import check_exercise
    from autograder.secret import PRACTICE
    source = '''
import course_utils.jax.forward_forward as _jff
def predict(params, x, skip_first=True):
    return np.asarray(_jff.predict(params, x, skip_first))
'''
    namespace = {"__name__": "__main__"}
    exec(compile(solution_setup("04_forward_forward") + source, "<answer>", "exec"), namespace)
    for fixture in prepared(EXERCISES["forward_forward.predict"], PRACTICE)[0]:
        namespace["predict"](**fixture.kwargs)            # the student's own earlier calls
    inline = check_exercise("forward_forward.predict", namespace["predict"])
    graded = grade_one("04_forward_forward", notebook("04_forward_forward", {"forward_forward.predict": source}),
                       "forward_forward.predict")
    assert not (inline.passed and graded["score"] < graded["max_score"]), (inline.feedback, graded["feedback"])


def test_inline_pass_with_a_scratch_file_over_the_file_limit(tmp_path):
    """An honest answer that writes a 20 MB scratch file: fine in the kernel, over the sandbox's 16 MB
    file limit (EFBIG) when graded."""
    source = '''
import os, tempfile
def hard_sigmoid(s):
    with tempfile.TemporaryFile() as scratch:
        scratch.write(b"0" * 20_000_000)
    return np.clip(s, 0.0, 1.0)
'''
    inline, graded = _inline_and_graded("03_eqprop", "eqprop.debug_rho", source, "hard_sigmoid")
    assert not (inline.passed and graded["score"] < graded["max_score"]), (inline.feedback, graded["feedback"])
