"""Where each exercise lives: from an exercise id (``online.fa_update``) to every file that makes it.

For each exercise, one row per place, each a path a reader opens in one step:

    reference   the NumPy reference it is checked against          course_utils/<module>.py:LINE
    jax twin    the JAX version of that reference (if there is one) course_utils/jax/<module>.py:LINE
    check       the Exercise(...) entry (its id= line)             autograder/exercises/<tutorial>.py:LINE
    fixtures    the public fixtures (a function)                   autograder/exercises/<tutorial>.py:LINE
    hidden      the generator of hidden fixtures (from the secret) autograder/exercises/<tutorial>.py:LINE
    allowlist   HANDED: what the setup cell hands to answers       autograder/exercises/<tutorial>.py:LINE
    notebook    the answer cell, found by its metadata             solutions/NN_name/NN_name.ipynb cell I
                {"course": {"exercise": id}}; I counts from 0 (nbformat's list of cells)

``python -m autograder list --where [ID]`` prints the table (every exercise, or those whose id starts
with ID); each line starts with the exercise id, so ``grep`` finds all of one exercise's places. Paths
are relative to the repository root. Locations come from the source (``ast``) and the notebook's JSON:
nothing here imports JAX or runs a notebook. Pure: no processes.
"""
from __future__ import annotations

import ast
import functools
import inspect
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from .exercises import ASSIGNMENTS, EXERCISES, HANDED, assignment_of

ROOT = Path(__file__).resolve().parents[1]
COURSE = "course_utils"
WHAT = ("reference", "jax twin", "check", "fixtures", "hidden", "allowlist", "notebook")


@dataclass(frozen=True)
class Place:
    """One place of an exercise: what it is, its name there, and where (path from the repository
    root, with a 1-based line, or a notebook with a 0-based cell index)."""
    exercise: str
    what: str                       # one of WHAT
    name: str                       # "course_utils.online:fa_update", "_fa_fixtures", "HANDED: ...", ...
    path: str | None                # None: there is none (no JAX twin, no hidden fixtures)
    line: int | None = None
    cell: int | None = None

    @property
    def location(self) -> str:
        if self.path is None:
            return "-"
        if self.cell is not None:
            return f"{self.path} cell {self.cell}"
        return f"{self.path}:{self.line}" if self.line else self.path


# --- reading the sources ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _relative(path: Path) -> str:
    path = Path(path).resolve()
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def _module_path(module: str) -> Path | None:
    """The source file of a module of the repository, found without importing it."""
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def definition_line(path: Path, name: str) -> int | None:
    """The line where the module at ``path`` binds ``name`` at top level (def, class, assignment or
    import), the last such binding as Python would leave it; None when it does not."""
    line = None
    for node in _tree(path).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            line = node.lineno
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(target)):
                    line = node.lineno
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if any((a.asname or a.name.split(".")[0]) == name for a in node.names):
                line = node.lineno
    return line


def _function_place(exercise: str, what: str, function) -> Place:
    """A function of the autograder (fixtures, hidden fixtures) -> its def line."""
    if function is None:
        return Place(exercise, what, "-", None)
    function = inspect.unwrap(function)
    while isinstance(function, functools.partial):
        function = function.func
    path = Path(inspect.getsourcefile(function))
    line = definition_line(path, function.__name__) or function.__code__.co_firstlineno
    return Place(exercise, what, function.__name__, _relative(path), line)


def _course_place(exercise: str, what: str, module: str, name: str) -> Place:
    path = _module_path(module)
    line = definition_line(path, name) if path else None
    if line is None:
        return Place(exercise, what, "-", None)
    return Place(exercise, what, f"{module}:{name}", _relative(path), line)


# JAX twins whose name is not the reference's (the JAX module computes on a list of layers' states).
TWINS = {
    "eqprop.relaxation_step": "course_utils.jax.eqprop:layered_relax",       # its loop body is the step
    "eqprop.eqprop_update": "course_utils.jax.eqprop:layered_eqprop_gradient",
}


def _twin(exercise, module: str, name: str) -> tuple[str, str]:
    """The JAX twin of a reference: TWINS, else the function of the same name in the module of the
    same name under course_utils.jax (course_utils.online:fa_update -> course_utils.jax.online:fa_update)."""
    if exercise.id in TWINS:
        return tuple(TWINS[exercise.id].split(":"))
    return f"{COURSE}.jax.{module.removeprefix(COURSE + '.')}", name


def _check_place(exercise) -> Place:
    """The Exercise(...) entry of ``exercise`` in autograder/exercises/<tutorial>.py: the line of its id
    (any call with id="<the id>": Exercise or a subclass of it)."""
    module = f"{__package__}.exercises.{ASSIGNMENTS[assignment_of(exercise)]}"
    path = _module_path(module)
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "id" and isinstance(keyword.value, ast.Constant) \
                        and keyword.value.value == exercise.id:
                    return Place(exercise.id, "check", f"Exercise {exercise.id}", _relative(path),
                                 keyword.value.lineno)
    return Place(exercise.id, "check", f"Exercise {exercise.id}", _relative(path), None)


def _allowlist_place(exercise) -> Place:
    assignment = assignment_of(exercise)
    path = _module_path(f"{__package__}.exercises.{ASSIGNMENTS[assignment]}")
    helpers = ", ".join(h.split(":")[1] for h in HANDED[assignment]) or "none (NumPy only)"
    return Place(exercise.id, "allowlist", f"HANDED: {helpers}", _relative(path), definition_line(path, "HANDED"))


def notebook_path(assignment: str) -> Path:
    return ROOT / "solutions" / assignment / f"{assignment}.ipynb"


@functools.lru_cache(maxsize=None)
def _exercise_cells(path: Path) -> dict[str, int]:
    """{exercise id: index of the cell whose metadata is {"course": {"exercise": id}}} of a notebook."""
    cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    found = {}
    for index, cell in enumerate(cells):
        course = cell.get("metadata", {}).get("course", {})
        if isinstance(course, dict) and isinstance(course.get("exercise"), str):
            found.setdefault(course["exercise"], index)
    return found


def _notebook_place(exercise) -> Place:
    path = notebook_path(assignment_of(exercise))
    if not path.is_file() or exercise.id not in _exercise_cells(path):
        return Place(exercise.id, "notebook", "-", None)
    return Place(exercise.id, "notebook", f"answer cell ({exercise.function_name})", _relative(path),
                 cell=_exercise_cells(path)[exercise.id])


# --- the table -----------------------------------------------------------------------------------------

def where(exercise_id: str) -> list[Place]:
    """Every place of one exercise, in the order of WHAT."""
    if exercise_id not in EXERCISES:
        raise KeyError(f"unknown exercise {exercise_id!r}; known: {', '.join(EXERCISES)}")
    exercise = EXERCISES[exercise_id]
    reference = inspect.unwrap(exercise.reference)
    module, name = reference.__module__, reference.__name__
    return [
        _course_place(exercise.id, "reference", module, name),
        _course_place(exercise.id, "jax twin", *_twin(exercise, module, name)),
        _check_place(exercise),
        _function_place(exercise.id, "fixtures", exercise.fixtures),
        _function_place(exercise.id, "hidden", exercise.hidden),
        _allowlist_place(exercise),
        _notebook_place(exercise),
    ]


def table(prefix: str = "") -> list[Place]:
    """The places of every exercise whose id starts with ``prefix``, in course order."""
    return [place for exercise_id in EXERCISES if exercise_id.startswith(prefix)
            for place in where(exercise_id)]


def format_table(places: list[Place]) -> str:
    rows = [("exercise", "what", "name", "location")] + [(p.exercise, p.what, p.name, p.location) for p in places]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d}".rstrip() for a, b, c, d in rows)


def print_where(prefix: str = "") -> int:
    """``python -m autograder list --where [ID]``: print the table -> exit status (2: no such exercise)."""
    places = table(prefix or "")
    if not places:
        print(f"no exercise id starts with {prefix!r}; known: {', '.join(EXERCISES)}", file=sys.stderr)
        return 2
    print(format_table(places))
    return 0
