"""Grading a course: Dask on one machine and on a real scheduler with workers started by Dask's own
command-line tools, a journal that survives kill -9 and resumes, exports at any time, and nbgrader end
to end from a fresh copy of the repository, with the standalone grader's scores."""
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder.notebook_grading import grade_notebook

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SOLUTION = {n: REPO / "solutions" / n / f"{n}.ipynb" for n in ("01_perturbation", "02_weight_transport")}
STUDENT = {n: REPO / "notebooks" / n / f"{n}.ipynb" for n in ("01_perturbation", "02_weight_transport")}


def _course(root: Path, spec: dict) -> Path:
    """submitted/<student>/<assignment>/<assignment>.ipynb from {student: (assignment, source)}."""
    for student, (assignment, source) in spec.items():
        folder = root / student / assignment
        folder.mkdir(parents=True)
        shutil.copy(source, folder / f"{assignment}.ipynb")
    return root


def _grade_all(root, out, *extra, timeout=600):
    return subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(root), "--out", str(out), *extra],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO)


def _rows(path):
    return {r["notebook"]: r for r in csv.DictReader(open(path))}


def test_local_cluster_grades_a_mixed_folder_one_csv_per_assignment(tmp_path):
    root = _course(tmp_path / "submitted", {
        "ada": ("01_perturbation", SOLUTION["01_perturbation"]),
        "bo": ("01_perturbation", STUDENT["01_perturbation"]),
        "cy": ("02_weight_transport", SOLUTION["02_weight_transport"]),
    })
    out = tmp_path / "grades.csv"
    proc = _grade_all(root, out, "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    first = _rows(tmp_path / "grades-01_perturbation.csv")
    second = _rows(tmp_path / "grades-02_weight_transport.csv")
    assert set(first) == {"ada/01_perturbation/01_perturbation.ipynb", "bo/01_perturbation/01_perturbation.ipynb"}
    assert first["ada/01_perturbation/01_perturbation.ipynb"]["score"] == "8"
    assert first["bo/01_perturbation/01_perturbation.ipynb"]["score"] == "0"        # "0", never "0.0"
    assert "weight_transport.backprop_gradients" not in next(iter(first.values()))  # no other tutorial's columns
    assert second["cy/02_weight_transport/02_weight_transport.ipynb"]["score"] == "12"
    reports = json.loads((tmp_path / "grades.json").read_text())
    standalone = grade_notebook(root / "ada" / "01_perturbation" / "01_perturbation.ipynb")
    mine = next(r for r in reports if r["notebook"].startswith("ada/"))
    def grade(exercises):      # (each result's "seconds" is how long it took: not part of the grade)
        return {k: {f: v for f, v in r.items() if f != "seconds"} for k, r in exercises.items()}
    assert grade(mine["report"]["exercises"]) == grade(standalone["exercises"])
    # the summary: per exercise, mean, full marks, most frequent feedback
    assert "most frequent feedback" in proc.stderr
    assert "perturbation.node_perturbation" in proc.stderr and "1 / 2" in proc.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_real_scheduler_and_worker_started_by_dask_tools(tmp_path):
    from distributed import Client
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    scheduler = subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 env=env, start_new_session=True)
    worker = subprocess.Popen([str(BIN / "dask"), "worker", address, "--nworkers", "1", "--nthreads", "1",
                               "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=env, start_new_session=True, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(1, timeout=60)
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        root = _course(tmp_path / "submitted", {"ada": ("01_perturbation", SOLUTION["01_perturbation"]),
                                                "bo": ("01_perturbation", STUDENT["01_perturbation"])})
        out = tmp_path / "grades.csv"
        proc = _grade_all(root, out, "--scheduler", address)
        assert proc.returncode == 0, proc.stderr
        rows = _rows(out)
        assert [rows[k]["score"] for k in sorted(rows)] == ["8", "0"]
    finally:
        for p in (worker, scheduler):
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=30)


def test_kill_9_halfway_loses_nothing_graded_and_the_rerun_grades_only_the_rest(tmp_path):
    root = _course(tmp_path / "submitted", {f"s{i}": ("01_perturbation", SOLUTION["01_perturbation"])
                                            for i in range(6)})
    out = tmp_path / "grades.csv"
    journal = tmp_path / "grades.csv.journal.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "autograder", "grade-all", str(root), "--out", str(out),
                             "--workers", "1"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 300
    while not (journal.exists() and len(journal.read_text().splitlines()) >= 2):
        assert proc.poll() is None and time.monotonic() < deadline, "grade-all ended before it could be killed"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    assert 2 <= len(kept) < 6 and not out.exists()
    rerun = _grade_all(root, out, "--workers", "1")
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stderr.count("unchanged, kept") == len(kept)
    rows = _rows(out)
    assert len(rows) == 6 and all(r["score"] == "8" for r in rows.values())
    # a notebook that changes is graded again; --regrade grades everything again
    changed = root / "s0" / "01_perturbation" / "01_perturbation.ipynb"
    shutil.copy(STUDENT["01_perturbation"], changed)
    third = _grade_all(root, out, "--workers", "1")
    assert third.stderr.count("unchanged, kept") == 5
    assert _rows(out)["s0/01_perturbation/01_perturbation.ipynb"]["score"] == "0"


def test_export_writes_the_grades_from_the_journal_at_any_time(tmp_path):
    root = _course(tmp_path / "submitted", {"ada": ("01_perturbation", SOLUTION["01_perturbation"])})
    out = tmp_path / "grades.csv"
    assert _grade_all(root, out, "--workers", "1").returncode == 0
    before = out.read_text()
    out.unlink()
    (tmp_path / "grades.json").unlink()
    proc = subprocess.run([sys.executable, "-m", "autograder", "export", "--out", str(out)],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == before and (tmp_path / "grades.json").exists()


# --- nbgrader, end to end, from a fresh copy of the repository ------------------------------------------

def _fresh_copy(target: Path) -> Path:
    """The tracked files as they are in this working tree (a clone would miss uncommitted work)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def test_nbgrader_end_to_end_from_a_fresh_copy(tmp_path):
    repo = _fresh_copy(tmp_path / "course")
    name = "01_perturbation"
    # nbgrader is called by its full path, without the virtual environment on PATH
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV",)}
    env["PATH"] = "/usr/bin:/bin"
    nbgrader = [str(BIN / "nbgrader")]
    plain = subprocess.run(nbgrader + ["generate_assignment", name], cwd=repo, env=env,
                           capture_output=True, text=True, timeout=600)
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert "is not absolute" not in plain.stderr
    forced = subprocess.run(nbgrader + ["generate_assignment", name, "--force"], cwd=repo, env=env,
                            capture_output=True, text=True, timeout=600)
    assert forced.returncode == 0, forced.stderr[-2000:]
    def graded_cells(path):   # what nbgrader generates (the release step adds the Colab settings)
        nb = nbformat.read(str(path), as_version=4)
        return [(c.metadata["nbgrader"]["grade_id"], c.source) for c in nb.cells if "nbgrader" in c.metadata]
    assert graded_cells(repo / "notebooks" / name / f"{name}.ipynb") == graded_cells(STUDENT[name])
    for student, source in (("alice", SOLUTION[name]), ("bob", STUDENT[name])):
        (repo / "submitted" / student / name).mkdir(parents=True)
        shutil.copy(source, repo / "submitted" / student / name / f"{name}.ipynb")
    for step in (["autograde", name], ["generate_feedback", name], ["export"]):
        proc = subprocess.run(nbgrader + step, cwd=repo, env=env, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, (step, proc.stderr[-2000:])
        assert "future releases may treat" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    grades = {r["student_id"]: float(r["raw_score"]) for r in csv.DictReader(open(repo / "grades.csv"))}
    assert grades == {"alice": grade_notebook(SOLUTION[name])["score"], "bob": 0.0}
    feedback = list((repo / "feedback" / "alice" / name).glob("*.html"))
    assert feedback and "correct: matches the reference" in feedback[0].read_text()


def test_a_failed_release_leaves_the_released_notebooks_alone(tmp_path):
    from autograder.release import release
    repo = _fresh_copy(tmp_path / "course")
    name = "01_perturbation"
    before = (repo / "notebooks" / name / f"{name}.ipynb").read_text()
    nb = nbformat.read(str(repo / "solutions" / name / f"{name}.ipynb"), as_version=4)
    grade_cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))
    del grade_cell.metadata["nbgrader"]["points"]          # nbgrader refuses a grade cell without points
    nbformat.write(nb, str(repo / "solutions" / name / f"{name}.ipynb"))
    with pytest.raises(RuntimeError, match="unchanged"):
        release([name], root=repo)
    assert (repo / "notebooks" / name / f"{name}.ipynb").read_text() == before
