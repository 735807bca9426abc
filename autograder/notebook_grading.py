"""Grading one submitted notebook: which assignment it is, which cells to run, and the marks.

For every exercise of the assignment, a sandboxed child (``autograder.sandbox``) runs the notebook's
setup cells and answer cells in notebook order, up to and including that exercise's answer cell, so
that an answer may call the student's own earlier answers as it does in their kernel. The child then
calls the answer on the exercise's fixtures and sends back plain arrays; this process, which never
runs student code, checks their structure and size and compares them with its own references.

- An earlier answer cell that fails, loops (it gets ``Limits.earlier_cell_seconds``) or patches the
  course costs only its own exercise: the failure is ignored and the patch undone before the next cell.
- The assignment is the instructor's word (``assignment=``, or the file or folder name), never the
  notebook's own metadata; a notebook whose content belongs to another assignment is not graded.

Notebook conventions (set in solutions/, kept by nbgrader):
- notebook metadata ``{"course": {"tutorial": "<tutorial>"}}``;
- setup cells: cell metadata ``{"course": {"role": "setup"}}`` (imports, no training);
- answer cells: cell metadata ``{"course": {"exercise": "<tutorial>.<exercise>"}}``.
"""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np

from .core import Answer, Exercise, Result, evaluate, prepared
from .exercises import ASSIGNMENTS, EXERCISES, exercises_of
from .sandbox import Limits, SandboxError, run_batch
from .sandbox import printable as _printable

MAX_NOTEBOOK_BYTES = 50_000_000
MAX_RESULT_ELEMENTS = 5_000_000
DEFAULT_TIMEOUT = Limits.timeout


class UngradableError(Exception):
    """The input cannot be graded at all (not a notebook, unknown or mismatched assignment)."""


# --- reading ------------------------------------------------------------------------------------------

def read_notebook(path):
    path = Path(path)
    if path.is_symlink() or not path.is_file():
        raise UngradableError(f"{path}: no such file" if not path.exists() else f"{path} is not a regular file")
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise UngradableError(f"{path} is larger than {MAX_NOTEBOOK_BYTES // 1_000_000} MB")
    return parse_notebook(path.read_bytes(), str(path))


def parse_notebook(data: bytes, label: str = "the file") -> dict:
    """A notebook from its bytes; anything that is not one is a one-line UngradableError.

    Plain JSON and a structural check: the grader needs cells, their type, source and metadata, not
    nbformat's schema validation (whose import alone costs more than grading a notebook)."""
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise UngradableError(f"{label} is larger than {MAX_NOTEBOOK_BYTES // 1_000_000} MB")
    try:
        nb = json.loads(data.decode("utf-8"))
        if not isinstance(nb, dict):
            raise ValueError("not a JSON object")
        if nb.get("nbformat") == 3:   # old notebooks: nbformat converts them
            import nbformat
            nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        cells = nb.get("cells")
        if not isinstance(cells, list) or not all(
                isinstance(c, dict) and isinstance(c.get("cell_type"), str)
                and isinstance(c.get("source", ""), (str, list)) for c in cells):
            raise ValueError("it has no list of cells")
    except Exception as err:  # any way of not being a notebook is one line, never a traceback
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UngradableError(f"{label} is not a Jupyter notebook ({_printable(first)[:120]})") from None
    return nb


def _course(meta) -> dict:
    course = meta.get("course", {}) if isinstance(meta, dict) else {}
    return course if isinstance(course, dict) else {}


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


# --- which assignment ------------------------------------------------------------------------------------

def assignment_names() -> list[str]:
    return list(ASSIGNMENTS)


def resolve_assignment(path, assignment: str | None = None) -> str:
    """The assignment a notebook is graded as: ``assignment`` if given, else its file name, else the
    nearest folder named like an assignment (``submitted/alice/01_perturbation/any.ipynb``)."""
    if assignment is not None:
        for name, tutorial in ASSIGNMENTS.items():
            if assignment in (name, tutorial):
                return name
        raise UngradableError(f"unknown assignment {assignment!r}; known: {', '.join(ASSIGNMENTS)}")
    path = Path(path)
    candidates = [path.stem] + [p.name for p in path.parents]
    for candidate in candidates:
        for name in ASSIGNMENTS:
            if candidate == name or candidate.startswith(name + "_") or candidate.startswith(name + "-"):
                return name
    raise UngradableError(f"cannot tell the assignment of {path.name} from its file or folder name; "
                          f"pass --assignment (one of {', '.join(ASSIGNMENTS)})")


def check_content(nb, assignment: str) -> None:
    """Raise UngradableError unless the notebook's answer cells belong to ``assignment`` (the cells'
    exercise tags, or the definitions where tags were lost; the notebook's own claim counts only
    against it)."""
    tutorial = ASSIGNMENTS[assignment]
    ids = {_course(c.get("metadata", {})).get("exercise") for c in nb["cells"]}
    ids = {i for i in ids if isinstance(i, str)}
    if any(e.id in ids or _defines(nb, e) for e in exercises_of(tutorial)):
        return
    others = sorted({EXERCISES[i].tutorial for i in ids if i in EXERCISES})
    claimed = _course(nb.get("metadata", {})).get("tutorial")
    if others:
        raise UngradableError(f"this notebook is not {assignment}: its answer cells belong to "
                              f"{', '.join(others)}")
    if isinstance(claimed, str) and claimed != tutorial:
        raise UngradableError(f"this notebook is not {assignment}: its metadata says it is tutorial "
                              f"{_printable(claimed)[:40]!r}")
    raise UngradableError(f"this notebook is not {assignment}: it has none of its exercises")


def _defines(nb, exercise: Exercise) -> bool:
    pattern = re.compile(rf"^\s*def\s+{re.escape(exercise.function_name)}\s*\(", re.MULTILINE)
    return any(c.get("cell_type") == "code" and pattern.search(_source(c)) for c in nb["cells"])


# --- which cells ---------------------------------------------------------------------------------------

def to_python(source: str) -> str:
    """A cell as plain Python, transformed the way IPython does it (magics become calls)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(source)
    except Exception:  # leave it to the child to report the SyntaxError
        return source


def code_cells(nb) -> list[dict]:
    """The setup and answer cells, in notebook order: [{"source", "exercise" or None}]."""
    cells = []
    for cell in nb["cells"]:
        if cell.get("cell_type") != "code":
            continue
        course = _course(cell.get("metadata", {}))
        exercise = course.get("exercise")
        if course.get("role") == "setup" or (isinstance(exercise, str) and exercise in EXERCISES):
            cells.append({"source": to_python(_source(cell)),
                          "exercise": exercise if isinstance(exercise, str) else None, "raw": _source(cell)})
    return cells


def cells_for(cells: list, nb, exercise: Exercise) -> list | None:
    """The cells to run for ``exercise``: everything up to its answer cell (the last one tagged with it,
    or, where the tag was lost, the last cell that defines the function)."""
    index = max((i for i, c in enumerate(cells) if c["exercise"] == exercise.id), default=None)
    if index is None:
        pattern = re.compile(rf"^\s*def\s+{re.escape(exercise.function_name)}\s*\(", re.MULTILINE)
        found = [c for c in nb["cells"] if c.get("cell_type") == "code" and pattern.search(_source(c))]
        if not found:
            return None
        answer = {"source": to_python(_source(found[-1])), "exercise": exercise.id}
        position = nb["cells"].index(found[-1])
        before = [c for c in cells if _position(nb, c) < position]
        return [{"source": c["source"]} for c in before] + [{"source": answer["source"]}]
    return [{"source": c["source"]} for c in cells[:index + 1]]


def _position(nb, cell) -> int:
    for i, c in enumerate(nb["cells"]):
        if _source(c) == cell["raw"]:
            return i
    return len(nb["cells"])


# --- grading -----------------------------------------------------------------------------------------------

def grade_exercises(nb, exercises: list, limits: Limits) -> dict:
    """Grade ``exercises`` of a notebook -> {exercise id: Result}, all in one sandbox, one fork each."""
    from ._harness import encode
    from .redaction import withheld_names
    cells = code_cells(nb)
    results, members = {}, []
    for exercise in exercises:
        to_run = cells_for(cells, nb, exercise)
        if to_run is None:
            results[exercise.id] = Result(exercise.id, 0.0, exercise.points,
                                          f"no marks: no answer cell defining {exercise.function_name} was found")
            continue
        job = {"function_name": exercise.function_name, "cells": to_run, "exercise": exercise.id,
               "withhold": list(exercise.withheld_while_graded),
               "fixtures": [encode(f.kwargs) for f in prepared(exercise)[0]]}
        members.append((exercise, job))
    if members:
        outcomes = run_batch([job for _, job in members], limits, withheld_names(EXERCISES.values()))
        for (exercise, job), outcome in zip(members, outcomes):
            results[exercise.id] = _score(exercise, outcome, len(job["fixtures"]))
    return {e.id: results[e.id] for e in exercises}


def _score(exercise: Exercise, outcome: dict, count: int) -> Result:
    if "sandbox_error" in outcome:
        note = _printable(outcome["sandbox_error"])[:300]
        return Result(exercise.id, 0.0, exercise.points, f"no marks: {exercise.function_name} {note}")
    try:
        answers = _answers(outcome, count)
    except SandboxError as err:
        return Result(exercise.id, 0.0, exercise.points, f"no marks: {exercise.function_name} {err}")
    if isinstance(answers, str):
        return Result(exercise.id, 0.0, exercise.points, f"no marks: {_printable(answers)[:300]}")
    try:
        return evaluate(exercise, answers)
    except Exception as err:   # a bug of ours must not cost the other exercises
        return Result(exercise.id, 0.0, exercise.points, f"no marks: internal grader error ({type(err).__name__})")


def _answers(result: dict, count: int):
    """The child's result, checked against the schema -> [Answer] or the child's error message."""
    from ._harness import decode
    malformed = SandboxError("the grading process returned a malformed result")
    error = result.get("error")
    if error is not None:
        if not isinstance(error, str):
            raise malformed
        return error
    fixtures = result.get("fixtures")
    if not isinstance(fixtures, list) or len(fixtures) != count:
        raise malformed
    answers, budget = [], MAX_RESULT_ELEMENTS
    for entry in fixtures:
        if not isinstance(entry, dict) or not isinstance(entry.get("float32", False), bool):
            raise malformed
        if entry.get("error") is not None:
            if not isinstance(entry["error"], str):
                raise malformed
            answers.append(Answer(None, _printable(entry["error"])[:300]))
            continue
        arrays = entry.get("arrays")
        if not isinstance(arrays, dict):
            raise malformed
        outputs = {}
        for path, encoded in arrays.items():
            try:
                value = decode(encoded, max_elements=budget)
                if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
                    raise ValueError
            except (ValueError, TypeError):
                raise malformed from None
            budget -= value.size
            outputs[_printable(path)[:200]] = value.astype(np.float64)
        answers.append(Answer(outputs, None, entry.get("float32", False)))
    return answers


def grade_nb(nb, assignment: str, limits: Limits | None = None, name: str = "") -> dict:
    """Grade a notebook node as ``assignment`` -> the report (see grade_notebook)."""
    limits = limits or Limits()
    check_content(nb, assignment)
    tutorial = ASSIGNMENTS[assignment]
    results = grade_exercises(nb, exercises_of(tutorial), limits)
    return {
        "notebook": name,
        "assignment": assignment,
        "tutorial": tutorial,
        "exercises": {k: r.as_dict() for k, r in results.items()},
        "score": float(sum(r.score for r in results.values())),
        "max_score": float(sum(r.max_score for r in results.values())),
    }


def grade_notebook(path, assignment: str | None = None, limits: Limits | None = None,
                   timeout: float | None = None) -> dict:
    """-> {"notebook", "assignment", "tutorial", "exercises": {id: {score, max_score, feedback}},
    "score", "max_score"}. Raises UngradableError when the input cannot be graded at all."""
    if timeout is not None:
        limits = dataclasses.replace(limits or Limits(), timeout=timeout)
    nb = read_notebook(path)
    name = resolve_assignment(path, assignment)
    return grade_nb(nb, name, limits, name=str(path))
