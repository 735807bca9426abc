"""Grading as an ordinary user: the README's instructor runbook (`make grade`), run by a user that is not
root, with bubblewrap in a user namespace, against hostile submissions.

CI runs as root, so this test creates that user (`course-instructor`), gives it a copy of the working tree,
and runs `make grade` as it: the Makefile builds the user's own `.venv/` from Debian's `/usr/bin/python3`
(pyenv's interpreters live in root's home, which the user cannot read) and grades a folder of honest and
hostile students. The attacks that matter: writing files (other students', the course's), the network,
reading another student, memory, processes."""
import csv
import hashlib
import json
import os
import shlex
import shutil
import socket
import subprocess
import textwrap
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
USER = "course-instructor"
HOME = Path("/home") / USER
COPY = HOME / "course"

needs_root = pytest.mark.skipif(os.geteuid() != 0 and os.environ.get("CI") != "true",
                                reason="creating a user needs root (CI runs as root, and there this test runs)")


def _as_user(command: str, timeout: int = 1500, **env) -> subprocess.CompletedProcess:
    settings = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    return subprocess.run(["runuser", "-u", USER, "--", "bash", "-lc", f"cd {COPY} && env {settings} {command}"],
                          capture_output=True, text=True, timeout=timeout)


def _digest(paths):
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def _student(root: Path, name: str, source: Path, replace=None):
    nb = nbformat.read(str(source), as_version=4)
    for cell in nb.cells:
        exercise = cell.metadata.get("course", {}).get("exercise")
        if replace and exercise in replace:
            cell.source = textwrap.dedent(replace[exercise])
    path = root / name / "01_perturbation" / "01_perturbation.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, str(path))
    return path


ATTACK = """
    import glob, os, socket
    found = 0
    for f in glob.glob("/home/**/*.ipynb", recursive=True) + glob.glob("/home/**/*.py", recursive=True) \\
            + glob.glob("/opt/course/**/*.py", recursive=True):
        try:
            open(f, "a").write("# sabotaged")
            found |= 1
        except OSError:
            pass
    try:
        socket.create_connection(("127.0.0.1", {port}), timeout=2)
        found |= 2
    except OSError:
        pass
    for f in ["{alice}"] + glob.glob("/home/**/alice/**/*.ipynb", recursive=True):
        try:
            open(f).read()
            found |= 4
        except OSError:
            pass
    try:
        hog = bytearray(8 * 10**9)
        found |= 8
    except MemoryError:
        pass
    if os.getuid() == 0 or os.path.exists("{course}/solutions") or os.path.exists("{course}/submitted"):
        found |= 16
    def gradient_snr(samples):
        return float(found) + 1000.0
    """

FORK_BOMB = """
    import os, time
    for _ in range(100000):
        try:
            if os.fork() == 0:
                time.sleep(20)
                os._exit(0)
        except OSError:
            break
    def largest_stable_step(gradient, hessian, num_samples):
        return 0.0
    """


@pytest.fixture(scope="module")
def graded():
    """`make grade` as the ordinary user over alice (solved), bob (blank) and mallory (attacks)."""
    assert shutil.which("runuser") and shutil.which("useradd") and shutil.which("bwrap"), "runuser, useradd, bwrap"
    if subprocess.run(["id", USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", USER], check=True)
    if COPY.exists():
        venv = COPY / ".venv"
        keep = venv.rename(HOME / ".venv-kept") if venv.exists() else None   # reuse the user's environment
        shutil.rmtree(COPY)
    else:
        keep = None
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, files):
        source = REPO / name.decode()
        if source.is_file():
            (COPY / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, COPY / name.decode())
    if keep is not None:
        keep.rename(COPY / ".venv")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    root = COPY / "submitted"
    solved = REPO / "solutions" / "01_perturbation" / "01_perturbation.ipynb"
    alice = _student(root, "alice", solved)
    bob = _student(root, "bob", REPO / "notebooks" / "01_perturbation" / "01_perturbation.ipynb")
    _student(root, "mallory", solved, {
        "perturbation.gradient_snr": ATTACK.format(port=server.getsockname()[1], course=str(COPY), alice=str(alice)),
        "perturbation.stable_step": FORK_BOMB})
    subprocess.run(["chown", "-R", f"{USER}:{USER}", str(HOME)], check=True)
    watched = sorted((COPY / "course_utils").rglob("*.py")) + [alice, bob]
    before = _digest(watched)
    proc = _as_user("make grade SUBMISSIONS=submitted OUT=grades.csv GRADE_FLAGS='--workers 2 --timeout 30'",
                    COURSE_SECRET="a secret of the ordinary user's own course")
    try:
        server.accept()
        connected = True
    except BlockingIOError:
        connected = False
    server.close()
    return proc, before, _digest(watched), connected


@needs_root
def test_the_runbook_works_as_an_ordinary_user(graded):
    proc, _, _, _ = graded
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert "sandboxed with bubblewrap" in proc.stdout + proc.stderr
    rows = {r["notebook"].split("/")[0]: r for r in csv.DictReader((COPY / "grades.csv").open())}
    assert rows["alice"]["score"] == "8" and rows["bob"]["score"] == "0"


@needs_root
def test_a_hostile_student_gains_nothing_and_touches_nothing(graded):
    proc, before, after, connected = graded
    assert before == after, "a file of the course or of another student changed"
    assert not connected, "the sandbox reached the network"
    report = {e["notebook"].split("/")[0]: e["report"] for e in json.loads((COPY / "grades.json").read_text())}
    mallory = report["mallory"]["exercises"]
    # what the attack could do, reported through its own (public) result: nothing (1000 + 0)
    assert "is 1000, expected" in mallory["perturbation.gradient_snr"]["feedback"], mallory
    assert mallory["perturbation.stable_step"]["score"] == 0
    # the fork bomb and the attack cost only their own exercises, and nothing of anyone else's
    assert mallory["perturbation.weight_perturbation"]["score"] == 2
    assert mallory["perturbation.node_perturbation"]["score"] == 3
    assert report["alice"]["score"] == 8
