"""Hostile submissions: each attack states what must happen. No marks gained, other students' marks
and files unchanged, the batch finishes with every notebook in the CSV, no process left behind, the
grader's memory bounded. Under CI the sandbox must be active: these tests never skip it."""
import csv
import hashlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

from autograder import sandbox
from autograder.notebook_grading import UngradableError, grade_notebook
from autograder.sandbox import Limits

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = {name: REPO / "solutions" / name / f"{name}.ipynb"
             for name in ("01_perturbation", "02_weight_transport", "03_eqprop", "04_forward_forward")}
STUDENT01 = REPO / "notebooks" / "01_perturbation" / "01_perturbation.ipynb"
FAST = Limits(timeout=20, earlier_cell_seconds=3)


def test_the_sandbox_is_active_under_ci():
    if os.environ.get("CI") == "true":
        assert sandbox.bwrap_available(), sandbox.describe()
    if sandbox.bwrap_available():
        assert sandbox.describe().startswith("sandboxed")
    else:
        assert "NOT sandboxed" in sandbox.describe()


def submission(tmp_path, assignment="01_perturbation", name=None, replace=None, setup=None, source=None):
    """A copy of an assignment's solution with some answer cells (by exercise id) replaced."""
    nb = nbformat.read(str(source or SOLUTIONS[assignment]), as_version=4)
    for cell in nb.cells:
        course = cell.metadata.get("course", {})
        if replace and course.get("exercise") in replace:
            cell.source = textwrap.dedent(replace[course["exercise"]])
        if setup is not None and course.get("role") == "setup":
            cell.source += "\n" + textwrap.dedent(setup)
    path = tmp_path / (name or f"{assignment}.ipynb")
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def scores(report):
    return {k.split(".", 1)[1]: v["score"] for k, v in report["exercises"].items()}


# --- reference bypasses: full marks without solving anything ------------------------------------------

GETSOURCE = """
import inspect, textwrap
from course_utils import {module} as _m
exec(textwrap.dedent(inspect.getsource(_m.{function})))
"""


@pytest.mark.parametrize("assignment,exercise,module,function", [
    ("01_perturbation", "perturbation.node_perturbation", "perturbation", "node_perturbation_gradient"),
    ("02_weight_transport", "weight_transport.feedback_alignment", "weight_transport", "feedback_alignment_gradients"),
    ("03_eqprop", "eqprop.energy", "eqprop", "energy"),
    ("04_forward_forward", "forward_forward.layer_loss", "forward_forward", "layer_loss"),
])
def test_copying_the_reference_source_gains_nothing(tmp_path, assignment, exercise, module, function):
    path = submission(tmp_path, assignment, replace={exercise: GETSOURCE.format(module=module, function=function)})
    report = grade_notebook(path, limits=FAST)
    assert report["exercises"][exercise]["score"] == 0
    # the sealed copy has no source to read: inspect refuses the placeholder that stands for the reference
    assert "got Sealed" in report["exercises"][exercise]["feedback"], report["exercises"][exercise]
    others = {k: v for k, v in report["exercises"].items() if k != exercise}
    assert all(v["score"] == v["max_score"] for v in others.values()), others


@pytest.mark.parametrize("assignment,exercise,answer", [
    ("01_perturbation", "perturbation.gradient_snr", """
        import sys, importlib
        for name in [n for n in sys.modules if n.startswith("course_utils")]:
            del sys.modules[name]
        fresh = importlib.import_module("course_utils.metrics")
        def gradient_snr(samples):
            return fresh.gradient_snr(samples)
        """),
    ("01_perturbation", "perturbation.gradient_snr", """
        import importlib, course_utils.perturbation as p
        importlib.reload(p)
        def gradient_snr(samples):
            return p.gradient_snr(samples)
        """),
    ("01_perturbation", "perturbation.gradient_snr", f"""
        import json
        nb = json.load(open({str(SOLUTIONS['01_perturbation'])!r}))
        exec("".join(next(c for c in nb["cells"] if "def gradient_snr" in "".join(c["source"]))["source"]))
        """),
    ("01_perturbation", "perturbation.gradient_snr", """
        import json, os
        system = ("/proc", "/sys", "/dev", "/usr", "/lib", "/lib64", "/bin", "/sbin", "/boot", "/etc", "/var")
        for top, dirs, names in os.walk("/"):      # every folder where a person's files may be
            dirs[:] = [d for d in dirs if os.path.join(top, d) not in system and d not in ("site-packages", ".git")]
            for path in (os.path.join(top, n) for n in names if n.endswith(".ipynb")):
                try:
                    cells = ["".join(c["source"]) for c in json.load(open(path))["cells"]] if os.path.isfile(path) else []
                except Exception:
                    continue
                for cell in cells:
                    if cell.startswith("def gradient_snr(") and "### BEGIN SOLUTION" in cell:
                        exec(cell)
        """),
    ("02_weight_transport", "weight_transport.backprop_gradients", """
        from course_utils import mlp
        def backprop_gradients(params, x, y, activation="sigmoid"):
            return mlp.backprop_gradients(params, x, y, activation)
        """),
    ("02_weight_transport", "weight_transport.backprop_gradients", """
        from course_utils.jax import mlp as jmlp
        def backprop_gradients(params, x, y, activation="sigmoid"):
            return jmlp.backprop_gradients(params, x, y, activation)
        """),
    ("02_weight_transport", "weight_transport.cosine_similarity", """
        import numpy as np
        from course_utils.metrics import angle_degrees
        def cosine_similarity(a, b):
            return float(np.cos(np.radians(angle_degrees(a, b))))
        """),
    ("04_forward_forward", "forward_forward.predict", """
        import numpy as np
        def predict(params, x, skip_first=True):
            return np.argmax(forward_forward.label_goodness(params, x, skip_first), axis=1)
        """),
], ids=["reimport-fresh-modules", "importlib-reload", "read-solutions-notebook", "search-the-disk",
        "delegate-to-mlp-backprop", "delegate-to-jax-twin", "cosine-from-angle-helper", "delegate-to-label-goodness"])
def test_reaching_a_reference_another_way_gains_nothing(tmp_path, assignment, exercise, answer):
    report = grade_notebook(submission(tmp_path, assignment, replace={exercise: answer}), limits=FAST)
    assert report["exercises"][exercise]["score"] == 0, report["exercises"][exercise]


def test_a_setup_cell_that_reloads_the_package_gains_nothing(tmp_path):
    path = submission(tmp_path, setup="import importlib, course_utils.perturbation\n"
                                      "importlib.reload(course_utils.perturbation)\n"
                                      "from course_utils.perturbation import node_perturbation_gradient as _np\n",
                      replace={"perturbation.node_perturbation": "node_perturbation_gradient = _np\n"})
    report = grade_notebook(path, limits=FAST)
    assert scores(report)["node_perturbation"] == 0


# --- one submission must not change another's marks or files -----------------------------------------

def _digest(paths):
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


# Without the sandbox an answer runs with the grader's own rights: these attacks would succeed (the
# fallback says so), so they run only where the sandbox is, and always under CI.
needs_sandbox = pytest.mark.skipif(not sandbox.bwrap_available() and os.environ.get("CI") != "true",
                                   reason="file-system isolation needs bubblewrap (under CI it must run)")


@pytest.fixture
def sandboxed():
    """Refuse to run an attack without the sandbox (under CI: fail, never damage the checkout)."""
    assert sandbox.bwrap_available(), sandbox.describe()


@needs_sandbox
def test_an_answer_cannot_write_the_course_package_or_the_repository(sandboxed, tmp_path):
    import course_utils
    package = Path(course_utils.__file__).resolve().parent
    watched = sorted(package.rglob("*.py")) + sorted((REPO / "solutions").rglob("*.ipynb"))
    before = _digest(watched)
    attack = f"""
        import glob, os
        for f in glob.glob("/opt/course/**/*.py", recursive=True) + glob.glob({str(package)!r} + "/*.py") \\
                + glob.glob({str(REPO)!r} + "/solutions/*/*.ipynb"):
            try:
                open(f, "w").write("raise SystemExit('sabotaged')")
            except OSError:
                pass
        def gradient_snr(samples):
            raise ValueError("no answer")
        """
    report = grade_notebook(submission(tmp_path, name="01_perturbation-attacker.ipynb",
                                       replace={"perturbation.gradient_snr": attack}), limits=FAST)
    assert scores(report)["gradient_snr"] == 0
    assert _digest(watched) == before
    honest = grade_notebook(SOLUTIONS["01_perturbation"], limits=FAST)
    assert honest["score"] == honest["max_score"]


@needs_sandbox
def test_grade_all_one_student_cannot_touch_another(sandboxed, tmp_path):
    root = tmp_path / "submitted"
    honest = submission(root / "alice", name="01_perturbation.ipynb")
    blank = submission(root / "carol", name="01_perturbation.ipynb", source=STUDENT01)
    attack = """
        import os, shutil
        stolen = []
        for pid in os.listdir("/proc"):
            try:
                stolen.append(open(f"/proc/{pid}/cmdline", "rb").read())
            except OSError:
                pass
        for top, dirs, names in os.walk("/"):      # every file (but the kernel's /proc, /sys and /dev)
            dirs[:] = [d for d in dirs if os.path.join(top, d) not in ("/proc", "/sys", "/dev")]
            for f in (os.path.join(top, n) for n in names if n.endswith(".ipynb")):
                try:
                    shutil.copy(f, "/tmp/copy.ipynb")
                    open(f, "w").write("{}")
                except OSError:
                    pass
        def gradient_snr(samples):
            return 0.0
        """
    submission(root / "mallory", name="01_perturbation.ipynb",
                         replace={"perturbation.gradient_snr": attack})
    (root / "zed").mkdir()
    (root / "zed" / "01_perturbation.ipynb").write_bytes(b"\xff\xfe not a notebook")
    (root / "eve").mkdir()
    (root / "eve" / "01_perturbation.ipynb").symlink_to(honest)     # handing in a classmate's file
    before = _digest([honest, blank])
    out = tmp_path / "grades.csv"
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(root), "--out", str(out),
                           "--timeout", "20"], capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = {r["notebook"]: r for r in csv.DictReader(out.open())}
    assert set(rows) == {"alice/01_perturbation.ipynb", "carol/01_perturbation.ipynb", "eve/01_perturbation.ipynb",
                         "mallory/01_perturbation.ipynb", "zed/01_perturbation.ipynb"}
    assert "symbolic link" in rows["eve/01_perturbation.ipynb"]["error"]
    assert rows["alice/01_perturbation.ipynb"]["score"] == "8"
    assert rows["carol/01_perturbation.ipynb"]["score"] == "0"
    assert rows["mallory/01_perturbation.ipynb"]["perturbation.gradient_snr"] == "0"
    assert "not a Jupyter notebook" in rows["zed/01_perturbation.ipynb"]["error"]
    assert _digest([honest, blank]) == before


# --- the parent trusts nothing from the child ---------------------------------------------------------------

@pytest.mark.parametrize("answer,words", [
    ("import os\nos.write(2, b'\\xff\\xfe' * 1000)\nos.write(1, b'\\xff')\n"
     "def gradient_snr(samples):\n    raise ValueError('\\udcff')\n", "raised"),
    ("import os\nfor fd in range(1, 10):\n    try: os.write(fd, b'{\"error\": null, \"fixtures\": [{\"error\": 5}]}')\n"
     "    except OSError: pass\nos._exit(0)\n", "ended the grading process"),
    ("import os, json\nfor fd in range(3, 20):\n    try: os.write(fd, b'\\xff' * 100)\n    except OSError: pass\n"
     "def gradient_snr(samples):\n    return 1.0\n", ""),
    ("import os, json, base64\nbig = base64.b64encode(b'\\0' * 8 * 10**6).decode()\n"
     "fake = {'error': None, 'fixtures': [{'error': None, 'float32': False, 'arrays': "
     "{'': {'nd': ['<f8', [10**9, 10**9], big]}}}] * 3}\n"
     "for fd in range(1, 10):\n    try: os.write(fd, json.dumps(fake).encode())\n    except OSError: pass\n"
     "os._exit(0)\n", ""),
    ("open('status.json', 'w').write('{')\nopen('outputs.npz', 'wb').write(b'PK' * 10**6)\n"
     "def gradient_snr(samples):\n    return 1.0\n", ""),
], ids=["invalid-utf8-output", "forged-frame", "garbage-on-every-descriptor", "forged-huge-array",
        "forged-status-and-npz-files"])
def test_forged_or_garbled_results_cost_only_that_exercise(tmp_path, answer, words):
    report = grade_notebook(submission(tmp_path, replace={"perturbation.gradient_snr": answer}), limits=FAST)
    result = scores(report)
    assert result["gradient_snr"] == 0 and result["node_perturbation"] == 3, report
    assert words in report["exercises"]["perturbation.gradient_snr"]["feedback"]


def _grade_in_child(path):
    """Grade in a fresh interpreter -> (report, the grader's own peak memory in MB).

    The peak is VmHWM, this process's own high-water mark. Not ru_maxrss: Linux carries it over from the
    process that started this one (exec records the old address space's peak), which is how the parallel
    suite once "measured" 790 MB here: the pytest worker's own size, not the grader's."""
    code = ("import json, resource, sys\nfrom autograder.notebook_grading import grade_notebook\n"
            "from autograder.sandbox import Limits\n"
            "r = grade_notebook(sys.argv[1], limits=Limits(timeout=30, earlier_cell_seconds=3))\n"
            "peak = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
            "print(json.dumps({'report': r, 'peak_mb': peak / 1024}))")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                          timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    return out["report"], out["peak_mb"]


def test_memory_floods_are_bounded(tmp_path):
    answers = {
        # the child asks for 6 GB; printing 500 MB; a 4 GB result claimed through every descriptor
        "perturbation.weight_perturbation": "import numpy as np\nhog = np.ones((6 * 10**9 // 8,))\n",
        "perturbation.node_perturbation": "import sys\nfor _ in range(500):\n    sys.stdout.write('x' * 10**6)\n"
                                          "    sys.stderr.write('y' * 10**6)\n",
        "perturbation.gradient_snr": "import os\nfor fd in range(1, 10):\n    try: os.write(fd, b'{\"fixtures\": [\"' + b'A' * 4 * 10**8)\n"
                                     "    except OSError: pass\nos._exit(0)\n",
    }
    report, peak_mb = _grade_in_child(submission(tmp_path, replace=answers))
    feedback = {k: v["feedback"] for k, v in report["exercises"].items()}
    scores = {k: v["score"] for k, v in report["exercises"].items()}
    # each attacked exercise gets 0; the solved one keeps its mark (no earlier cell's writes reach it)
    assert scores == {"perturbation.weight_perturbation": 0, "perturbation.node_perturbation": 0,
                      "perturbation.gradient_snr": 0, "perturbation.stable_step": 1}, feedback
    assert "MemoryError" in feedback["perturbation.weight_perturbation"], feedback
    assert "ended the grading process" in feedback["perturbation.gradient_snr"], feedback
    # None of the floods may reach the grader: it peaks near 80 MB (2026-12-02, alone and in the parallel
    # suite), so a 250 MB bound fails if any of them (500 MB printed, 400 MB written to each descriptor) were
    # buffered whole.
    assert peak_mb < 250, f"the grader itself took {peak_mb:.0f} MB"


def _sandbox_processes():
    out = subprocess.run(["ps", "-eo", "uid=,pid=,args="], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "sleep 4242" in line and "ps -eo" not in line]


@needs_sandbox
def test_a_detached_child_neither_delays_grading_nor_outlives_it(sandboxed, tmp_path):
    answer = """
        import subprocess, os
        subprocess.Popen(["sleep", "4242"], start_new_session=True,
                         stdout=1, stderr=2, stdin=subprocess.DEVNULL)
        if os.fork() == 0:
            os.setsid()
            os.execvp("sleep", ["sleep", "4242"])
        def gradient_snr(samples):
            import numpy as np
            s = np.asarray(samples, dtype=float)
            std = s.std(0)
            return float(np.mean(np.abs(s.mean(0)[std > 0]) / std[std > 0]))
        """
    start = time.monotonic()
    report = grade_notebook(submission(tmp_path, replace={"perturbation.gradient_snr": answer}),
                            limits=Limits(timeout=20, earlier_cell_seconds=3))
    elapsed = time.monotonic() - start
    assert scores(report)["gradient_snr"] == 2, report          # a correct answer keeps its marks
    assert elapsed < 20, f"grading took {elapsed:.1f} s"
    time.sleep(0.5)
    assert not _sandbox_processes(), _sandbox_processes()


@needs_sandbox
def test_no_network_no_privileges_no_environment(sandboxed, tmp_path, monkeypatch):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    port = server.getsockname()[1]
    monkeypatch.setenv("GRADER_SECRET", "s3cret")
    answer = f"""
        import os, socket, numpy as np
        leaks = []
        try:
            socket.create_connection(("127.0.0.1", {port}), timeout=2); leaks.append("network")
        except OSError:
            pass
        if os.getuid() == 0 or os.geteuid() == 0: leaks.append("root")
        if "GRADER_SECRET" in os.environ: leaks.append("environment")
        if os.path.exists({str(REPO / "solutions")!r}) or os.path.exists({str(REPO / "course_utils")!r}):
            leaks.append("repository")
        try:
            os.setuid(0); leaks.append("setuid")
        except OSError:
            pass
        def gradient_snr(samples):
            if leaks:
                raise RuntimeError("leaked: " + ", ".join(leaks))
            s = np.asarray(samples, dtype=float)
            std = s.std(0)
            return float(np.mean(np.abs(s.mean(0)[std > 0]) / std[std > 0]))
        """
    report = grade_notebook(submission(tmp_path, replace={"perturbation.gradient_snr": answer}), limits=FAST)
    assert scores(report)["gradient_snr"] == 2, report["exercises"]["perturbation.gradient_snr"]
    with pytest.raises(BlockingIOError):
        server.accept()
    server.close()


@needs_sandbox
def test_a_fork_bomb_costs_only_its_exercise(sandboxed, tmp_path):
    answer = """
        import os
        children = 0
        try:
            for _ in range(10000):
                if os.fork() == 0:
                    import time; time.sleep(30); os._exit(0)
                children += 1
        except OSError:
            pass
        def gradient_snr(samples):
            return float(children)
        """
    report = grade_notebook(submission(tmp_path, replace={"perturbation.gradient_snr": answer}), limits=FAST)
    assert scores(report) == {"weight_perturbation": 2, "node_perturbation": 3, "gradient_snr": 0,
                             "stable_step": 1}


def test_the_instructor_names_the_assignment(tmp_path):
    disguised = tmp_path / "01_perturbation.ipynb"
    disguised.write_bytes(SOLUTIONS["02_weight_transport"].read_bytes())
    with pytest.raises(UngradableError, match="not 01_perturbation"):
        grade_notebook(disguised, limits=FAST)
    nb = nbformat.read(str(SOLUTIONS["02_weight_transport"]), as_version=4)
    nb.metadata["course"]["tutorial"] = "perturbation"        # and lying metadata does not help
    nbformat.write(nb, str(disguised))
    with pytest.raises(UngradableError):
        grade_notebook(disguised, limits=FAST)
    report = grade_notebook(disguised, assignment="02_weight_transport", limits=FAST)
    assert report["score"] == report["max_score"] == 12
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(tmp_path / "x.ipynb")],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("kind", ["directory", "symlink"])
def test_grade_all_refuses_a_bad_out_path_before_grading(tmp_path, kind):
    (tmp_path / "in").mkdir()
    submission(tmp_path / "in", name="01_perturbation.ipynb")
    target = tmp_path / "victim.txt"
    target.write_text("keep me")
    out = tmp_path / "out"
    if kind == "directory":
        out.mkdir()
    else:
        out.symlink_to(target)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(tmp_path / "in"), "--out", str(out)],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    words = {"directory": "is a directory", "symlink": "symbolic link"}[kind]
    assert proc.returncode == 1 and words in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert time.monotonic() - start < 15                      # refused before any grading
    assert target.read_text() == "keep me"


def test_grade_all_keeps_what_it_graded_and_resumes(tmp_path):
    root = tmp_path / "submitted"
    for student in ("a", "b"):
        submission(root / student, name="01_perturbation.ipynb")
    out = tmp_path / "grades.csv"
    args = [sys.executable, "-m", "autograder", "grade-all", str(root), "--out", str(out)]
    first = subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert first.returncode == 0, first.stderr
    journal = [json.loads(l) for l in (tmp_path / "grades.csv.journal.jsonl").read_text().splitlines()]
    assert len(journal) == 2
    second = subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert second.stderr.count("unchanged, kept") == 2
    assert [r["score"] for r in csv.DictReader(out.open())] == ["8", "8"]


# --- nbgrader is no easier to fool ---------------------------------------------------------------------------

def test_nbgrader_redefining_the_check_or_reaching_the_gradebook_gains_nothing(tmp_path):
    from autograder.release import release
    from nbgrader.api import Gradebook
    import shutil
    name = "01_perturbation"
    root = tmp_path / "course"
    shutil.copytree(REPO / "solutions" / name, root / "solutions" / name)
    release([name], root=root)
    honest = submission(root / "submitted" / "alice" / name, name=f"{name}.ipynb")
    # the gradebook's own path (an attacker who knows the course's layout) and the course folders above the
    # notebook's (a search of the whole disk would only run out of time); the update is committed, so that
    # outside the sandbox it zeroes alice's grades, graded before this notebook
    cheat = f"""
        import glob, sqlite3
        for db in [{str(root / ".cache" / "gradebook.db")!r}] + glob.glob("../../../.*/gradebook.db"):
            try:
                with sqlite3.connect(db) as connection:
                    connection.execute("UPDATE grade SET manual_score = 0")
            except Exception:
                pass
        assert_exercise = lambda *args, **kwargs: None
        import autograder
        autograder.assert_exercise = assert_exercise
        def gradient_snr(samples):
            return -1.0
        """
    submission(root / "submitted" / "mallory" / name, name=f"{name}.ipynb",
               replace={"perturbation.gradient_snr": cheat})
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", name, "--force",
                           f"--CourseDirectory.root={root}",
                           f"--CourseDirectory.db_url=sqlite:///{root}/.cache/gradebook.db"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with Gradebook(f"sqlite:///{root}/.cache/gradebook.db") as gb:
        alice = gb.find_submission(name, "alice")
        mallory = {g.name: g.score for nb in gb.find_submission(name, "mallory").notebooks for g in nb.grades}
        assert alice.score == alice.max_score == 8
        assert mallory["test_gradient_snr"] == 0 and mallory["test_node_perturbation"] == 3
    assert honest.exists()


def test_without_bubblewrap_grading_falls_back_and_says_so_once(tmp_path):
    root = tmp_path / "submitted"
    for student in ("a", "b"):
        submission(root / student, name="01_perturbation.ipynb")
    env = {**os.environ, "COURSE_GRADER_NO_SANDBOX": "1"}
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(root / "a" / "01_perturbation.ipynb"),
                           "--json"], capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["score"] == report["max_score"] == 8 and "NOT sandboxed" in report["sandbox"]
    assert proc.stderr.count("NOT sandboxed") == 1 and len(proc.stderr.strip().splitlines()) == 1
    # the limits still hold: an endless loop is stopped
    looping = submission(tmp_path / "loop", replace={"perturbation.gradient_snr": "while True:\n    pass\n"})
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(looping), "--json", "--timeout", "5"],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    feedback = json.loads(proc.stdout)["exercises"]["perturbation.gradient_snr"]["feedback"]
    assert "longer than 5 s" in feedback
