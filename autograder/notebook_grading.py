"""Grading one submitted notebook: which assignment it is, which cells to run, and the marks.

For every exercise of the assignment, a sandboxed child (``autograder.sandbox``) runs the notebook's
setup cells and answer cells in notebook order, up to and including that exercise's answer cell, so
that an answer may call the student's own earlier answers as it does in their kernel. The child then
calls the answer on the exercise's fixtures (public, and hidden ones drawn from the course secret) and
sends back plain arrays; this process, which never runs student code, checks their structure and size
and compares them with its own references.

- Everything that interprets a cell (IPython's transformation included) happens in the sandbox. Here
  the notebook is read as JSON and scanned in linear time, under caps (``MAX_NOTEBOOK_BYTES``,
  ``MAX_CELLS``, ``MAX_CELL_BYTES``, ``MAX_SOURCE_BYTES``), each with a one-line reason.
- An earlier answer cell that fails, loops or patches the course costs only its own exercise (its
  failure is ignored, the patch undone); one that ends the process or holds it past its time is skipped
  for the later exercises, which say so.
- One wrong answer costs one exercise: where a later answer uses an earlier exercise's function and that
  earlier answer fails its own check, the later one is graded again with the course's correct function in
  its place (in that child only), and its feedback says so.
- The assignment is the instructor's word (``assignment=``, or the file or folder name), never the
  notebook's own metadata; a notebook whose content belongs to another assignment is not graded.

Notebook conventions (set in solutions/, kept by nbgrader):
- notebook metadata ``{"course": {"tutorial": "<tutorial>"}}``;
- cells run while grading: ``{"course": {"role": "setup"}}`` (the helpers answers may use) and
  ``{"course": {"role": "tools"}}`` (the notebook's own tools: run too, so that an answer that calls one
  of them fails while graded with the same line as inline);
- answer cells: cell metadata ``{"course": {"exercise": "<tutorial>.<exercise>"}}``.
"""
from __future__ import annotations

import dataclasses
import json
import os
import stat
import time
from pathlib import Path

import numpy as np

from .core import Answer, Exercise, Result, evaluate, prepared
from .exercises import ASSIGNMENTS, EXERCISES, HANDED, exercises_of
from .sandbox import Batch, Limits, SandboxError, budget, run_batch
from .sandbox import printable as _printable

# Caps on what a submission may be; beyond them it is not graded, or a cell is not run, with a one-line
# reason. A notebook with every figure of a full run is a few MB; its code cells are a few KB each.
MAX_NOTEBOOK_BYTES = 20_000_000      # the file
MAX_CELLS = 2_000                    # cells of any kind
MAX_CELL_BYTES = 200_000             # one setup or answer cell's source: a larger one is not run
MAX_SOURCE_BYTES = 2_000_000         # all the setup and answer cells sent to the sandbox
MAX_RESULT_ELEMENTS = 5_000_000
DEFAULT_TIMEOUT = Limits.timeout
RUN_ROLES = ("setup", "tools")


class UngradableError(Exception):
    """The input cannot be graded at all (not a notebook, unknown or mismatched assignment)."""


# --- reading ------------------------------------------------------------------------------------------

def read_notebook(path):
    """The notebook at ``path`` (see read_submission and parse_notebook); a one-line UngradableError
    for anything that is not one."""
    return parse_notebook(read_submission(path), str(path))


def _not_regular(mode: int) -> str | None:
    """What a file that is not a regular file is, in words (None for a regular file)."""
    for test, what in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device")):
        if test(mode):
            return what
    return None if stat.S_ISREG(mode) else "not a regular file"


def read_submission(path, label: str | None = None) -> bytes:
    """The bytes of the regular file at ``path``, at most ``MAX_NOTEBOOK_BYTES`` of them.

    Only a regular file is a submission: a symbolic link (a classmate's file), a directory, a named pipe
    (whose read would wait for a writer forever), a socket or a device is a one-line UngradableError, as
    are a missing, unreadable or too large file. Never blocks and never follows a link: checked with
    lstat, opened with O_NONBLOCK | O_NOFOLLOW, and checked again on the open file before reading."""
    path = Path(path)
    label = _printable(str(path) if label is None else label)     # a file name may hold a newline
    try:
        what = _not_regular(os.lstat(path).st_mode)
        if what:
            raise UngradableError(f"{label} is {what}, not a notebook file")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        try:
            info = os.fstat(fd)
            what = _not_regular(info.st_mode)      # swapped after the lstat
            if what:
                raise UngradableError(f"{label} is {what}, not a notebook file")
            if info.st_size > MAX_NOTEBOOK_BYTES:
                raise UngradableError(f"{label} is larger than {MAX_NOTEBOOK_BYTES // 1_000_000} MB")
            chunks, left = [], MAX_NOTEBOOK_BYTES + 1
            while left > 0:
                chunk = os.read(fd, min(left, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
        finally:
            os.close(fd)
    except FileNotFoundError:
        raise UngradableError(f"{label}: no such file") from None
    except OSError as err:    # unreadable, or a link swapped in after the lstat (ELOOP)
        why = _printable(err.strerror or type(err).__name__)[:80]
        raise UngradableError(f"{label}: cannot read it ({why})") from None
    data = b"".join(chunks)
    if len(data) > MAX_NOTEBOOK_BYTES:   # grew while read
        raise UngradableError(f"{label} is larger than {MAX_NOTEBOOK_BYTES // 1_000_000} MB")
    return data


def parse_notebook(data: bytes, label: str = "the file") -> dict:
    """A notebook from its bytes; anything that is not one is a one-line UngradableError.

    Plain JSON and a structural check: the grader needs cells, their type, source and metadata, not
    nbformat's schema validation (whose import alone costs more than grading a notebook). Linear in the
    size of the file; JSON nested deeper than the parser's limit, and more than ``MAX_CELLS`` cells, are
    refused. Tags and roles of any type are accepted here: anything but a string counts as none."""
    label = _printable(label)
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise UngradableError(f"{label} is larger than {MAX_NOTEBOOK_BYTES // 1_000_000} MB")
    try:
        nb = json.loads(data.decode("utf-8"))
        if not isinstance(nb, dict):
            raise ValueError("not a JSON object")
        if nb.get("nbformat") == 3:   # old notebooks: nbformat converts them (after the count of cells)
            _check_cell_count([c for w in nb.get("worksheets") or [] if isinstance(w, dict)
                               for c in (w.get("cells") if isinstance(w.get("cells"), list) else [])], label)
            import nbformat
            nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        cells = nb.get("cells")
        if not isinstance(cells, list):
            raise ValueError("it has no list of cells")
        _check_cell_count(cells, label)
        for position, c in enumerate(cells):
            source = c.get("source", "") if isinstance(c, dict) else None
            if not isinstance(c, dict) or not isinstance(c.get("cell_type"), str) or not (
                    isinstance(source, str) or isinstance(source, list) and all(isinstance(s, str) for s in source)):
                raise ValueError(f"cell {position + 1} is not a cell with a type and a text source")
    except UngradableError:
        raise
    except RecursionError:
        raise UngradableError(f"{label} is not a Jupyter notebook (its JSON is nested too deeply)") from None
    except Exception as err:  # any way of not being a notebook is one line, never a traceback
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UngradableError(f"{label} is not a Jupyter notebook ({_printable(first)[:120]})") from None
    return nb


def _check_cell_count(cells: list, label: str) -> None:
    if len(cells) > MAX_CELLS:
        raise UngradableError(f"{label} has {len(cells):,} cells; a notebook may have at most {MAX_CELLS:,}")


def _course(meta) -> dict:
    course = meta.get("course", {}) if isinstance(meta, dict) else {}
    return course if isinstance(course, dict) else {}


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _exercise_tag(cell) -> str | None:
    """A cell's exercise tag (``metadata.course.exercise``); anything but a string (a list, a number)
    counts as no tag."""
    tag = _course(cell.get("metadata", {})).get("exercise")
    return tag if isinstance(tag, str) else None


def _role(cell) -> str | None:
    """A cell's role if it is one run while grading (``RUN_ROLES``), else None."""
    role = _course(cell.get("metadata", {})).get("role")
    return role if isinstance(role, str) and role in RUN_ROLES else None


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
    ids = {_exercise_tag(c) for c in nb["cells"]} - {None}
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
    return any(c.get("cell_type") == "code" and defines(_source(c), exercise.function_name) for c in nb["cells"])


def defines(source: str, name: str) -> bool:
    """Whether a line of ``source`` starts (after indentation) with ``def name(``. Linear in the length
    of the source whatever it holds: no regular expression that can backtrack."""
    start = 0
    while True:
        found = source.find(name, start)
        if found < 0:
            return False
        start = found + len(name)
        window = max(0, found - 200)            # a def's indentation is short: look back 200 characters
        newline = source.rfind("\n", window, found)
        if newline < 0 and window > 0:
            continue
        line = source[newline + 1:found]
        if line.endswith(("def ", "def\t")) and line[:-4].strip(" \t") in ("", "async") \
                and source[start:start + 64].lstrip(" \t").startswith("("):
            return True


# --- which cells ---------------------------------------------------------------------------------------

@dataclasses.dataclass
class Plan:
    """What to send to the sandbox: the cells to run, in notebook order, and each exercise's answer cell."""
    cells: list            # [{"source", "position" (in the notebook), "exercise" or None, "role"}]
    answers: dict          # exercise id -> index in cells (absent: no answer cell)
    notes: dict            # exercise id -> why its answer cell is not run


def plan(nb, exercises: list) -> Plan:
    """The setup, tools and answer cells, in notebook order, and each exercise's answer cell: the last
    cell tagged with it, or, where the tag was lost, the last code cell that defines the function."""
    chosen = {}
    for position, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") != "code":
            continue
        exercise, role = _exercise_tag(cell), _role(cell)
        if exercise in EXERCISES:
            chosen[position] = (exercise, None)
        elif role:
            chosen[position] = (None, role)
    for exercise in exercises:
        if not any(e == exercise.id for e, _ in chosen.values()):
            found = [p for p, c in enumerate(nb["cells"])
                     if c.get("cell_type") == "code" and defines(_source(c), exercise.function_name)]
            if found:
                chosen[found[-1]] = (exercise.id, None)
    cells, last, notes, total = [], {}, {}, 0
    # cells of the student's own (and the notebook's other code cells): after the setup and answer cells,
    # with what is left of the budget, to lend the answers their definitions (the sandbox keeps only
    # those: functions, classes, imports, constants)
    others = [p for p, c in enumerate(nb["cells"]) if c.get("cell_type") == "code" and p not in chosen]
    for position in sorted(chosen):
        exercise, role = chosen[position]
        source = _source(nb["cells"][position])
        size = len(source.encode("utf-8", errors="replace"))
        if size > MAX_CELL_BYTES or total + size > MAX_SOURCE_BYTES:
            if exercise:
                notes[exercise] = (f"its answer cell (cell {position + 1}) is larger than "
                                   f"{MAX_CELL_BYTES // 1000} KB and was not run" if size > MAX_CELL_BYTES else
                                   f"its answer cell (cell {position + 1}) was not run: with the setup and "
                                   f"answer cells before it, the notebook's code is larger than "
                                   f"{MAX_SOURCE_BYTES // 1_000_000} MB")
            continue
        total += size
        if exercise:
            last[exercise] = len(cells)
        cells.append({"source": source, "position": position, "exercise": exercise, "role": role})
    lent = []
    for position in others[:MAX_CELLS]:
        source = _source(nb["cells"][position])
        size = len(source.encode("utf-8", errors="replace"))
        if size <= MAX_CELL_BYTES and total + size <= MAX_SOURCE_BYTES and defines_something(source):
            total += size
            lent.append({"source": source, "position": position, "exercise": None, "role": DEFINITIONS})
    if lent:           # in notebook order, the answers' indices with them
        cells = sorted(cells + lent, key=lambda c: c["position"])
        last = {c["exercise"]: i for i, c in enumerate(cells) if c["exercise"]}
    return Plan(cells, {e.id: last[e.id] for e in exercises if e.id in last}, notes)


DEFINITIONS = "definitions"       # the role of a cell whose definitions alone are run (see plan)


def defines_something(source: str) -> bool:
    """Whether a line of ``source`` starts a definition or an import at the top level (linear)."""
    for line in source.split("\n"):
        if line.startswith(("def ", "async def ", "class ", "import ", "from ", "@")) or \
                (line[:1].isupper() and "=" in line):
            return True
    return False


def _describe_cell(cell: dict) -> str:
    what = f"the answer to {cell['exercise']}" if cell["exercise"] else \
        "definitions of a cell of your own" if cell["role"] == DEFINITIONS else f"a {cell['role']} cell"
    return f"cell {cell['position'] + 1} ({what})"


# --- grading -----------------------------------------------------------------------------------------------

def grade_exercises(nb, exercises: list, limits: Limits, assignment: str, secret=None,
                    deadline: float | None = None) -> dict:
    """Grade ``exercises`` of a notebook -> {exercise id: Result}: all in one sandbox, one fork each;
    then, in a second sandbox, the answers that may have failed only because they use an earlier answer
    that fails its own check, with the course's correct function in its place."""
    from .secret import PRACTICE
    secret = secret or PRACTICE
    work = plan(nb, exercises)
    results, members = {}, []
    for exercise in exercises:
        if exercise.id in work.answers:
            members.append(exercise)
            continue
        note = work.notes.get(exercise.id) or f"no answer cell defining {exercise.function_name} was found"
        results[exercise.id] = Result(exercise.id, 0.0, exercise.points, f"no marks: {note}", status="missing")
    results.update(_run(work, members, limits, assignment, secret, deadline, {}))
    order = {e.id: i for i, e in enumerate(exercises)}
    failed = [e for e in exercises if not results[e.id].passed]
    retry = {}
    for exercise in members:
        if results[exercise.id].passed or results[exercise.id].status == "missing":
            continue
        source = work.cells[work.answers[exercise.id]]["source"]
        used = [e for e in failed if order[e.id] < order[exercise.id] and _mentions(source, e.function_name)]
        if used:
            retry[exercise.id] = used
    if retry:
        again = _run(work, [e for e in members if e.id in retry], limits, assignment, secret, deadline, retry)
        for exercise_id, result in again.items():
            before = results[exercise_id]
            # Only a higher score replaces the first grading, and its feedback is the grader's own line:
            # the course's functions answered this answer's calls, so nothing it wrote may reach the
            # student (it could carry their results on inputs of the student's choosing).
            if result.score > before.score:
                names = ", ".join(e.function_name for e in retry[exercise_id])
                result.feedback = (f"{result.feedback} (graded with the course's {names} in place of yours, "
                                   "which does not pass its own check)")
                results[exercise_id] = result
    return {e.id: results[e.id] for e in exercises}


def _mentions(source: str, name: str) -> bool:
    """Whether ``name`` occurs in ``source`` as a whole word (linear)."""
    start = 0
    while True:
        found = source.find(name, start)
        if found < 0:
            return False
        before = source[found - 1] if found else " "
        end = found + len(name)
        after = source[end] if end < len(source) else " "
        if not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_"):
            return True
        start = found + 1


STAND_IN_ROUNDS = 4          # sandboxes to grade an answer that calls stand-ins (each computes the calls it saw)
PARTS = ("public", "hidden")  # each exercise's fixtures, graded in sandboxes of their own


def _merged(public, hidden, public_places: list, hidden_places: list, count: int) -> dict:
    """One exercise's outcome from its public and its hidden sandbox: the fixtures in their order. What the
    hidden sandbox says in words (the answer cell's error) is not shown: it could carry hidden values."""
    public = public or {"outcome": {"error": None, "fixtures": []}, "seconds": 0.0, "skipped": []}
    hidden = hidden or {"outcome": {"error": None, "fixtures": []}, "seconds": 0.0, "skipped": []}
    first, second = public.get("outcome") or {}, hidden.get("outcome") or {}
    seconds = [o.get("seconds") for o in (public, hidden)]
    merged = {"seconds": round(sum(v for v in seconds if isinstance(v, (int, float))), 4) if any(
        isinstance(v, (int, float)) for v in seconds) else None,
        "skipped": list(public.get("skipped") or []) + [s for s in (hidden.get("skipped") or [])
                                                       if s not in (public.get("skipped") or [])]}
    if not isinstance(first, dict) or not isinstance(second, dict):
        return {**merged, "outcome": {"sandbox_error": "the grading process returned a malformed result"}}
    if "sandbox_error" in first or first.get("error") is not None:
        return {**merged, "outcome": first}
    if "sandbox_error" in second:
        return {**merged, "outcome": second}
    if second.get("error") is not None:
        return {**merged, "outcome": {"error": "the answer cell failed when run for the hidden examples"}}
    fixtures = [None] * count
    for places, part in ((public_places, first), (hidden_places, second)):
        got = part.get("fixtures")
        if not isinstance(got, list) or len(got) != len(places):
            return {**merged, "outcome": {"sandbox_error": "the grading process returned a malformed result"}}
        for place, entry in zip(places, got):
            fixtures[place] = entry
    return {**merged, "outcome": {"error": None, "fixtures": fixtures}}


def _failed_as_a_whole(part) -> bool:
    """Whether one part's outcome is one error for the whole answer, which _merged returns as it is."""
    outcome = part.get("outcome") if isinstance(part, dict) else None
    return isinstance(outcome, dict) and ("sandbox_error" in outcome or outcome.get("error") is not None)


def _run(work: Plan, exercises: list, limits: Limits, assignment: str, secret, deadline, replace: dict) -> dict:
    """Grade ``exercises`` -> {exercise id: Result}: one sandbox for all, except that an exercise whose
    answer is one of the assignment's handed helpers (``withheld_while_graded``) is graded in a sandbox
    whose sealed package withholds it. ``replace``: exercise id -> earlier exercises whose course
    function stands in for the student's; their code never enters the sandbox: the answer's calls of them
    are recorded, computed here, and the answer graded again with their results (up to STAND_IN_ROUNDS)."""
    from ._harness import encode
    jobs, places = {}, {}
    for exercise in exercises:
        fixtures, _ = prepared(exercise, secret)
        for part in PARTS:
            places[exercise.id, part] = [i for i, f in enumerate(fixtures) if f.hidden == (part == "hidden")]
            jobs[exercise.id, part] = {
                "exercise": exercise.id, "function_name": exercise.function_name, "answer": work.answers[exercise.id],
                "fixtures": [encode(fixtures[i].kwargs) for i in places[exercise.id, part]],
                "stand_ins": [e.function_name for e in replace.get(exercise.id, [])], "memo": {}}
    groups: dict = {}
    for exercise in exercises:
        groups.setdefault(tuple(exercise.withheld_while_graded), []).append(exercise)
    cells = [{"source": c["source"], "definitions": c["role"] == DEFINITIONS} for c in work.cells]
    outcomes = {}
    # Public and hidden fixtures in sandboxes of their own: what an answer writes where public examples are
    # graded (its errors, shown as feedback) cannot carry a hidden example's values, which are not there.
    # Answers graded with stand-ins: each in sandboxes of its own, which hold its own results of the
    # course's functions and no other exercise's fixtures.
    together = [members for members in groups.values()] if not replace else [[e] for e in exercises]
    for members in together:
        withheld = {q: e.id for e in members for q in e.withheld_while_graded}
        for part in PARTS:
            # an answer that failed as a whole on the public examples (its cell raised, it is not defined,
            # or it ran out of time) fails the same way whatever the hidden ones give (see _merged):
            # its hidden examples are not run, and an endless loop costs the time limit once, not twice
            pending = [e for e in members if jobs[e.id, part]["fixtures"]
                       and not (part == "hidden" and _failed_as_a_whole(outcomes.get((e.id, "public"))))]
            for _ in range(STAND_IN_ROUNDS if replace else 1):
                if not pending:
                    break
                batch = Batch(assignment, HANDED[assignment], cells, [jobs[e.id, part] for e in pending],
                              withheld=withheld)
                for exercise, outcome in zip(pending, run_batch(batch, limits, deadline)):
                    outcomes[exercise.id, part] = outcome
                pending = [e for e in pending if _compute_stand_ins(jobs[e.id, part], outcomes[e.id, part],
                                                                    replace.get(e.id, []), limits)]
    for exercise in exercises:
        count = len(places[exercise.id, "public"]) + len(places[exercise.id, "hidden"])
        outcomes[exercise.id] = _merged(outcomes.get((exercise.id, "public")), outcomes.get((exercise.id, "hidden")),
                                        places[exercise.id, "public"], places[exercise.id, "hidden"], count)
        jobs[exercise.id] = {"fixtures": [None] * count}
    results = {}
    for exercise in exercises:
        job, outcome = jobs[exercise.id], outcomes[exercise.id]
        result = _score(exercise, outcome.get("outcome") or {}, len(job["fixtures"]), secret)
        seconds = outcome.get("seconds")
        result.seconds = float(seconds) if isinstance(seconds, (int, float)) and seconds >= 0 else None
        skipped = [s for s in (outcome.get("skipped") or [])[:50] if isinstance(s, list) and len(s) == 2
                   and isinstance(s[0], int) and 0 <= s[0] < len(work.cells) and isinstance(s[1], str)]
        if skipped:
            said = "; ".join(f"{_describe_cell(work.cells[i])} {_printable(why)[:80]} and was skipped"
                             for i, why in skipped[:3])
            result.feedback = f"{result.feedback} ({said})"
        results[exercise.id] = result
    return results


def _compute_stand_ins(job: dict, outcome: dict, earlier: list, limits: Limits) -> bool:
    """Compute, with the course's functions, the stand-in calls an answer asked for, into
    ``job["memo"]`` -> whether there is anything new to grade again. The calls run in a process of their
    own (``autograder._stand_ins``) under the exercise's limits: their arguments come from graded code."""
    import subprocess
    import sys

    from .sandbox import _limits_prefix
    requests = (outcome.get("outcome") or {}).get("requests")
    functions = {e.function_name: e.id for e in earlier}
    if not isinstance(requests, list) or not functions:
        return False
    memo, todo, seen = job["memo"], [], set()
    for request in requests[:1000]:
        if not isinstance(request, dict) or request.get("name") not in functions:
            continue
        key, shapes = request.get("key"), request.get("shapes")
        if not (isinstance(key, str) and len(key) == 64 and isinstance(shapes, str) and len(shapes) == 64) \
                or key in memo or key in seen:
            continue
        seen.add(key)
        todo.append({"name": request["name"], "key": key, "shapes": shapes, "call": request.get("call")})
    if not todo:
        return False
    stand_in_limits = dataclasses.replace(limits, timeout=max(limits.timeout, 2.0))
    command = _limits_prefix(stand_in_limits, enforce_nproc=False) + [sys.executable, "-s", "-m", "autograder._stand_ins"]
    try:
        done = subprocess.run(command, input=json.dumps({"functions": functions, "requests": todo}).encode(),
                              capture_output=True, timeout=stand_in_limits.timeout,
                              env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
        lines = done.stdout
    except subprocess.TimeoutExpired as err:
        lines = err.stdout or b""
    for line in lines.splitlines():
        try:
            key, entry, shapes, template = json.loads(line)
        except ValueError:
            continue
        if key in seen:
            memo[key] = entry
            if template is not None and isinstance(shapes, str):
                memo.setdefault(f"template:{shapes}", {"value": template})
    for request in todo:       # calls it did not reach (its time or memory ran out)
        memo.setdefault(request["key"], {"error": f"the grader's time ({stand_in_limits.timeout:g} s) or memory "
                                                  "for these calls ran out"})
    return True


def _score(exercise: Exercise, outcome: dict, count: int, secret) -> Result:
    if "sandbox_error" in outcome:
        note = _printable(outcome["sandbox_error"])[:300]
        timeout = any(w in note for w in ("longer than", "CPU time", "time ran out"))
        return Result(exercise.id, 0.0, exercise.points, f"no marks: {exercise.function_name} {note}",
                      status="timeout" if timeout else "error")
    try:
        answers = _answers(outcome, count)
    except SandboxError as err:
        return Result(exercise.id, 0.0, exercise.points, f"no marks: {exercise.function_name} {err}", status="error")
    if isinstance(answers, str):
        status = "missing" if "does not define" in answers else "error"
        return Result(exercise.id, 0.0, exercise.points, f"no marks: {_printable(answers)[:300]}", status=status)
    try:
        return evaluate(exercise, answers, secret)
    except Exception as err:   # a bug of ours must not cost the other exercises
        return Result(exercise.id, 0.0, exercise.points, f"no marks: internal grader error ({type(err).__name__})",
                      status="error")


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



def notebook_seconds(limits: Limits, exercises: int) -> float:
    """One notebook's wall limit: a sandbox's budget for the public and for the hidden examples, as much
    again for grading the answers that used a failing earlier one (its rounds share it), and a margin for
    this process's own, linear, work."""
    return 2 * len(PARTS) * budget(limits, exercises) + 30.0


def grade_nb(nb, assignment: str, limits: Limits | None = None, name: str = "", secret=None,
             deadline: float | None = None) -> dict:
    """Grade a notebook node as ``assignment`` -> the report (see grade_notebook)."""
    limits = limits or Limits()
    check_content(nb, assignment)
    tutorial = ASSIGNMENTS[assignment]
    exercises = exercises_of(tutorial)
    if deadline is None:
        deadline = time.monotonic() + notebook_seconds(limits, len(exercises))
    results = grade_exercises(nb, exercises, limits, assignment, secret, deadline)
    return {
        "notebook": name,
        "assignment": assignment,
        "tutorial": tutorial,
        "exercises": {k: r.as_dict() for k, r in results.items()},
        "score": float(sum(r.score for r in results.values())),
        "max_score": float(sum(r.max_score for r in results.values())),
    }


def grade_notebook(path, assignment: str | None = None, limits: Limits | None = None,
                   timeout: float | None = None, secret=None) -> dict:
    """-> {"notebook", "assignment", "tutorial", "exercises": {id: {"score", "max_score", "feedback",
    "mistake", "fixture", "hidden", "status", "seconds"}}, "score", "max_score"}. Raises UngradableError
    when the input cannot be graded at all."""
    if timeout is not None:
        limits = dataclasses.replace(limits or Limits(), timeout=timeout)
    nb = read_notebook(path)
    name = resolve_assignment(path, assignment)
    return grade_nb(nb, name, limits, name=str(path), secret=secret)
