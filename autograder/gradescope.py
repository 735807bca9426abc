"""Gradescope: the autograder zip, and what runs inside Gradescope's container.

    make gradescope ASSIGNMENT=01_perturbation [SECRET=course.secret]
    python -m autograder gradescope 01_perturbation [--out dist/gradescope/01_perturbation.zip]
                                    [--secret-file course.secret]

**The zip** (what Gradescope's "Configure Autograder" takes; files at its root, as Gradescope's
specification asks): ``setup.sh`` (installs Python, bubblewrap and this package with its JAX extra into
``/autograder/venv``), ``run_autograder`` (grades the submission), ``course/`` (the course package and
the grader: ``course_utils/``, ``autograder/``, ``pyproject.toml``) and, when given, ``secret`` (the
course secret from which the hidden fixtures are drawn; the zip is only ever seen by the course staff).

**In the container**, ``run_autograder`` runs ``python -m autograder.gradescope run``, which
- finds the submitted notebook below ``submission/`` (the one named like the assignment, else the only
  ``.ipynb``);
- grades it with this grader, in a child process: when bubblewrap cannot start a sandbox there and the
  runner is root, that child runs as ``nobody``, so that student code can neither write
  ``results/results.json`` nor change the grader; either way the results file is written by this
  process only, after the grading, atomically;
- writes ``results/results.json`` in Gradescope's format: one test per exercise (``name``, ``score``,
  ``max_score``, ``status``, ``output``: the named mistake or the feedback; ``extra_data``: the status,
  the mistake and the seconds it took); the total ``score`` and ``execution_time`` at the top level
  (Gradescope's format has no per-test time). Where an answer failed a *hidden* fixture, its test says
  so without the details, and a second, score-less test holds the feedback with
  ``"visibility": "after_due_date"`` (Gradescope then shows students their total only after the due
  date). A submission that is not a notebook, or none at all, gets every exercise at zero with a
  one-line reason; a failure of the grader itself writes no results file, so that Gradescope reports an
  autograder error rather than a zero.

``GRADESCOPE_ROOT`` replaces ``/autograder`` (the tests run ``run_autograder`` in a temporary folder laid
out like it) and ``GRADESCOPE_PYTHON`` the interpreter.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("course_utils", "autograder")
TOP_FILES = ("pyproject.toml", "README.md", "LICENSE")
MAX_REPORT_BYTES = 8_000_000
VISIBLE, AFTER_DUE = "visible", "after_due_date"

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3 python3-venv python3-pip bubblewrap util-linux >/dev/null
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install -q --upgrade pip
/autograder/venv/bin/python -m pip install -q "/autograder/source/course[jax]" ipywidgets
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission, as root, in /autograder: grade the notebook below
# submission/ as {assignment} and write results/results.json. GRADESCOPE_ROOT replaces /autograder,
# GRADESCOPE_PYTHON the interpreter (both for testing this outside Gradescope).
root="${{GRADESCOPE_ROOT:-/autograder}}"
python="${{GRADESCOPE_PYTHON:-/autograder/venv/bin/python}}"
if [ -f "$root/source/secret" ]; then export COURSE_SECRET_FILE="$root/source/secret"; fi
export PYTHONPATH="$root/source/course${{PYTHONPATH:+:$PYTHONPATH}}"
cd "$root"
exec "$python" -m autograder.gradescope run --root "$root" --assignment {assignment}
"""


# --- building the zip ---------------------------------------------------------------------------------

def _package_files():
    """(path in the zip under course/, file on disk) for the course package and the grader."""
    for top in TOP_FILES:
        if (REPO / top).is_file():
            yield f"course/{top}", REPO / top
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*")):
            relative = path.relative_to(REPO)
            if (path.is_file() and "__pycache__" not in relative.parts and path.suffix not in (".pyc", ".pyo")
                    and not any(p.endswith(".egg-info") for p in relative.parts)):
                yield f"course/{relative.as_posix()}", path


def build(assignment: str, out, secret_file=None, log=sys.stderr) -> Path:
    """Write the autograder zip for ``assignment`` -> its path."""
    from .exercises import ASSIGNMENTS
    if assignment not in ASSIGNMENTS:
        raise ValueError(f"unknown assignment {assignment!r}; known: {', '.join(ASSIGNMENTS)}")
    secret_file = secret_file or os.environ.get("COURSE_SECRET_FILE")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            _add(z, "setup.sh", SETUP_SH.encode(), 0o755)
            _add(z, "run_autograder", RUN_AUTOGRADER.format(assignment=assignment).encode(), 0o755)
            for name, path in _package_files():
                _add(z, name, path.read_bytes(), 0o644)
            if secret_file:
                _add(z, "secret", Path(secret_file).read_bytes(), 0o600)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if not secret_file:
        print("note: no course secret given (--secret-file or $COURSE_SECRET_FILE): this autograder draws "
              "its hidden fixtures from the built-in secret, which is public: fine for a trial, not for marks",
              file=log)
    return out


def _add(z: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, data)


# --- in the container -------------------------------------------------------------------------------------

def find_submission(folder: Path, assignment: str) -> tuple[Path | None, str]:
    """(the notebook to grade, or None; a note for the student)."""
    found = []
    if folder.is_dir():
        for path in sorted(folder.rglob("*.ipynb")):
            parts = path.relative_to(folder).parts
            if any(p in (".ipynb_checkpoints", "__MACOSX") or p.startswith("._") for p in parts):
                continue
            if path.is_file() and not path.is_symlink():
                found.append(path)
    if not found:
        return None, f"no notebook (.ipynb) in your submission: upload {assignment}.ipynb"
    named = [p for p in found if p.stem == assignment or p.stem.startswith(assignment)]
    if len(named) == 1 or (named and len(found) == 1):
        return named[0], ""
    if len(found) == 1:
        return found[0], ""
    pick = (named or found)[0]
    return pick, (f"your submission has {len(found)} notebooks; graded {pick.relative_to(folder)} "
                  f"(name the one to grade {assignment}.ipynb)")


def _grader_prefix() -> tuple[list[str], str]:
    """The command prefix for the grading child: as ``nobody`` where the runner is root and bubblewrap
    cannot sandbox (then only the user id keeps student code from the results), else nothing."""
    from . import sandbox
    if os.geteuid() != 0 or sandbox.bwrap_available():
        return [], ""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return [], "note: not sandboxed and setpriv is missing: student code runs as root"
    prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    # as the grader will: import it, then start the interpreter again (as it starts each sandbox)
    check = ("import subprocess, sys, autograder.notebook_grading; "
             "sys.exit(subprocess.run([sys.executable, '-I', '-c', 'import numpy']).returncode)")
    try:
        probe = subprocess.run(prefix + [sys.executable, "-c", check], capture_output=True, cwd="/",
                               env=_child_env(), timeout=120)
    except (OSError, subprocess.SubprocessError):
        probe = None
    if probe is None or probe.returncode != 0:
        return [], "note: not sandboxed and the grader cannot run as nobody here: student code runs as root"
    return prefix, "graded as nobody (no sandbox here)"


def _child_env() -> dict:
    keep = ("PATH", "PYTHONPATH", "COURSE_SECRET_FILE", "COURSE_SECRET", "LANG", "COURSE_GRADER_NO_SANDBOX")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(HOME="/tmp", MPLBACKEND="Agg")
    return env


def grade_in_child(notebook: Path, assignment: str, timeout: float) -> tuple[dict | None, str]:
    """Grade a notebook in a child process -> (the report, or None; the reason when None)."""
    prefix, note = _grader_prefix()
    scratch = Path(tempfile.mkdtemp(prefix="gradescope-"))
    try:
        os.chmod(scratch, 0o755)
        copy = scratch / f"{assignment}.ipynb"
        shutil.copyfile(notebook, copy)
        os.chmod(copy, 0o644)
        command = prefix + [sys.executable, "-m", "autograder.gradescope", "grade", str(copy),
                            "--assignment", assignment]
        try:
            proc = subprocess.run(command, capture_output=True, cwd="/", env=_child_env(), timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, f"grading took longer than {timeout:g} s"
        if len(proc.stdout) > MAX_REPORT_BYTES:
            return None, "the grader's report is too large"
        try:
            answer = json.loads(proc.stdout.decode("utf-8", errors="replace").strip().splitlines()[-1])
        except (ValueError, IndexError):
            tail = proc.stderr.decode("utf-8", errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"the grader failed (exit {proc.returncode}): {tail[0][:300]}") from None
        if "ungradable" in answer:
            return None, str(answer["ungradable"]).replace(str(copy), notebook.name)[:300]
        report = answer.get("report")
        if not isinstance(report, dict):
            raise RuntimeError("the grader returned no report")
        if note:
            report["note"] = note
        return report, ""
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def results(report: dict | None, assignment: str, reason: str = "", note: str = "",
            seconds: float = 0.0) -> dict:
    """Gradescope's results.json object from a report (or, with ``report`` None, zeros and the reason)."""
    from .exercises import ASSIGNMENTS, exercises_of
    exercises = exercises_of(ASSIGNMENTS[assignment])
    graded = (report or {}).get("exercises", {})
    tests, total = [], 0.0
    for number, exercise in enumerate(exercises, 1):
        r = graded.get(exercise.id) if isinstance(graded.get(exercise.id), dict) else None
        name = f"{exercise.id} ({exercise.function_name})"
        if r is None:
            text = f"not graded: {reason}" if reason else "not graded: no result for this exercise"
            tests.append({"name": name, "number": str(number), "score": 0.0, "max_score": float(exercise.points),
                          "status": "failed", "output": text, "visibility": VISIBLE})
            continue
        score, max_score = float(r.get("score", 0.0)), float(r.get("max_score", exercise.points))
        total += score
        status = r.get("status") or ("correct" if score >= max_score else "wrong")
        mistake = r.get("mistake") if isinstance(r.get("mistake"), str) else None
        feedback = str(r.get("feedback", ""))
        extra = {"status": status, "mistake": mistake, "seconds": r.get("seconds"), "fixture": r.get("fixture")}
        test = {"name": name, "number": str(number), "score": score, "max_score": max_score,
                "status": "passed" if score >= max_score else "failed", "visibility": VISIBLE,
                "tags": [exercise.id, str(status)], "extra_data": {k: v for k, v in extra.items() if v is not None}}
        if r.get("hidden") and score < max_score:
            test["output"] = ("no marks: your answer failed one of the hidden checks"
                              + (f" ({mistake})" if mistake else "")
                              + "; the details are shown here after the due date")
            tests.append(test)
            tests.append({"name": f"{exercise.id}: the hidden check, in detail", "number": f"{number}.1",
                          "status": "failed", "output": feedback, "visibility": AFTER_DUE})
        else:
            test["output"] = feedback if not mistake or mistake in feedback else f"{mistake}: {feedback}"
            tests.append(test)
    possible = sum(float(e.points) for e in exercises)
    head = (f"{assignment}: {total:g} / {possible:g}" if report else f"{assignment}: not graded ({reason})")
    lines = [head] + [line for line in (note, (report or {}).get("note", "")) if line]
    return {"score": total, "execution_time": int(round(seconds)), "output": "\n".join(lines),
            "output_format": "text", "test_output_format": "text", "test_name_format": "text",
            "visibility": VISIBLE, "stdout_visibility": "hidden", "tests": tests}


def run(root, assignment: str, timeout: float | None = None) -> Path:
    """Grade ``root/submission`` and write ``root/results/results.json`` -> its path."""
    from .exercises import ASSIGNMENTS, exercises_of
    root = Path(root)
    start = time.monotonic()
    notebook, note = find_submission(root / "submission", assignment)
    report, reason = None, note
    if notebook is not None:
        budget = timeout or (len(exercises_of(ASSIGNMENTS[assignment])) * 70 + 120)
        report, reason = grade_in_child(notebook, assignment, budget)
    body = results(report, assignment, reason=reason, note=note if report else "",
                   seconds=time.monotonic() - start)
    folder = root / "results"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "results.json"
    fd, tmp = tempfile.mkstemp(prefix=".results.", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(body, f, indent=1)
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)           # replaces whatever anything else put there
    return target


def _grade_command(notebook: str, assignment: str) -> int:
    """The child: grade one notebook, print one JSON line ({"report"} or {"ungradable"})."""
    from . import sandbox
    from .notebook_grading import UngradableError, grade_notebook
    try:
        report = grade_notebook(notebook, assignment=assignment)
    except UngradableError as err:
        print(json.dumps({"ungradable": str(err)}))
        return 0
    report["sandbox"] = sandbox.describe()
    print(json.dumps({"report": report}))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="grade root/submission, write root/results/results.json")
    p.add_argument("--root", default=os.environ.get("GRADESCOPE_ROOT", "/autograder"))
    p.add_argument("--assignment", required=True)
    p = sub.add_parser("grade", help="(internal) grade one notebook, print one JSON line")
    p.add_argument("notebook")
    p.add_argument("--assignment", required=True)
    args = parser.parse_args(argv)
    if args.command == "grade":
        return _grade_command(args.notebook, args.assignment)
    print(f"wrote {run(args.root, args.assignment)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
