"""Grading a submitted notebook, one exercise at a time, each in a fresh process.

For every exercise of the notebook's tutorial, a child process (``python -m autograder._child``)
runs the notebook's setup cells and that exercise's answer cell, calls the student's function on
the exercise's fixtures and writes the results as plain float64 arrays. The parent, which never
runs student code, compares them with the references and writes the feedback. So:
- a loop that never ends costs only its own exercise (the child is killed at the time limit);
- an answer that redefines a check or patches a reference changes nothing in the parent, and
  the child reports the patch, which costs that exercise its marks;
- calling the reference solution itself is refused inside the child.

Notebook conventions (set in solutions/, kept by nbgrader):
- notebook metadata ``{"course": {"tutorial": "<tutorial>"}}``;
- setup cells: cell metadata ``{"course": {"role": "setup"}}`` (imports, no training);
- answer cells: cell metadata ``{"course": {"exercise": "<tutorial>.<exercise>"}}``.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import numpy as np

from .core import Result, evaluate
from .exercises import exercises_of, tutorials

DEFAULT_TIMEOUT = 60.0


class UngradableError(Exception):
    """The input cannot be graded at all (not a notebook, unknown tutorial)."""


def read_notebook(path) -> nbformat.NotebookNode:
    path = Path(path)
    if not path.is_file():
        raise UngradableError(f"{path}: no such file")
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UngradableError(f"{path} is not a Jupyter notebook ({first[:120]})") from None


def _course(meta) -> dict:
    course = meta.get("course", {}) if isinstance(meta, dict) else {}
    return course if isinstance(course, dict) else {}


def tutorial_of(nb) -> str:
    tutorial = _course(nb.get("metadata", {})).get("tutorial")
    if tutorial is None:  # fall back on the exercise ids of the answer cells
        ids = [_course(c.get("metadata", {})).get("exercise") for c in nb.get("cells", [])]
        found = {i.split(".")[0] for i in ids if isinstance(i, str)}
        tutorial = found.pop() if len(found) == 1 else None
    if tutorial not in tutorials():
        raise UngradableError(f"cannot tell which tutorial this notebook is (found {tutorial!r}; "
                              f"known: {', '.join(tutorials())})")
    return tutorial


def _runnable(source: str) -> str:
    """Drop IPython-only lines (%magics, !shell) so the cell runs as plain Python."""
    return "\n".join(line for line in source.splitlines()
                     if not line.lstrip().startswith(("%", "!")))


def collect_cells(nb, exercise) -> tuple[list[str], str | None]:
    setup, answer = [], None
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        course = _course(cell.get("metadata", {}))
        if course.get("role") == "setup":
            setup.append(_runnable(cell.source))
        elif course.get("exercise") == exercise.id:
            answer = _runnable(cell.source)
    if answer is None:  # the metadata was lost: look for the definition itself
        for cell in nb.cells:
            if cell.get("cell_type") == "code" and f"def {exercise.function_name}(" in cell.source:
                answer = _runnable(cell.source)
    return setup, answer


def grade_exercise(nb, exercise, timeout: float = DEFAULT_TIMEOUT) -> Result:
    setup, answer = collect_cells(nb, exercise)
    if answer is None:
        return Result(exercise.id, 0.0, exercise.points,
                      f"no answer cell defining {exercise.function_name} was found")
    with tempfile.TemporaryDirectory(prefix="autograde-") as tmp:
        job = {"exercise": exercise.id, "setup": setup, "answer": answer, "out": tmp}
        env = {**os.environ, "MPLBACKEND": "Agg", "COURSE_FAST": "1", "PYTHONHASHSEED": "0"}
        proc = subprocess.Popen([sys.executable, "-m", "autograder._child"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                cwd=tmp, start_new_session=True)
        try:
            _, stderr = proc.communicate(json.dumps(job), timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return Result(exercise.id, 0.0, exercise.points,
                          f"no marks: grading {exercise.function_name} took longer than "
                          f"{timeout:g} s (an endless loop?)")
        status_file = Path(tmp) / "status.json"
        if not status_file.exists():
            last = (stderr or "").strip().splitlines()[-1:] or ["no message"]
            return Result(exercise.id, 0.0, exercise.points,
                          f"no marks: the grading process died ({last[0][:200]})")
        status = json.loads(status_file.read_text())
        if status.get("error"):
            return Result(exercise.id, 0.0, exercise.points, f"no marks: {status['error']}")
        outputs = []
        with np.load(Path(tmp) / "outputs.npz", allow_pickle=False) as arrays:
            for entry in status["fixtures"]:
                if entry["error"] is not None:
                    outputs.append((None, entry["error"]))
                else:
                    outputs.append(({k: arrays[v] for k, v in entry["arrays"].items()}, None))
    return evaluate(exercise, outputs)


def grade_notebook(path, timeout: float = DEFAULT_TIMEOUT) -> dict:
    """-> {"notebook", "tutorial", "exercises": {id: {score, max_score, feedback}}, "score",
    "max_score"}. Raises UngradableError when the input cannot be graded at all."""
    nb = read_notebook(path)
    tutorial = tutorial_of(nb)
    results = {e.id: grade_exercise(nb, e, timeout) for e in exercises_of(tutorial)}
    return {
        "notebook": str(path),
        "tutorial": tutorial,
        "exercises": {k: r.as_dict() for k, r in results.items()},
        "score": float(sum(r.score for r in results.values())),
        "max_score": float(sum(r.max_score for r in results.values())),
    }
