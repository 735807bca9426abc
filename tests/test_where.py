"""`python -m autograder list --where`: every place of every exercise resolves (issue 20).

For each row of the table: the file exists; a line names a definition of that name (a def, a class, an
assignment or an import of it, or the Exercise's id); a notebook cell carries the exercise id in its
metadata {"course": {"exercise": id}}. And the places are the ones the grader uses: the reference is the
Exercise's reference, the fixtures and hidden fixtures are its functions, the allowlist is HANDED.
"""
from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys

import pytest

from autograder import where
from autograder.exercises import EXERCISES, HANDED, assignment_of

ROOT = where.ROOT
IDS = list(EXERCISES)


def _line(place) -> str:
    return (ROOT / place.path).read_text(encoding="utf-8").splitlines()[place.line - 1]


def _defines(line: str, name: str) -> bool:
    """The line binds ``name``: def/class NAME, NAME = ..., or an import that binds NAME."""
    name = re.escape(name)
    return bool(re.match(rf"\s*(async\s+def|def|class)\s+{name}\b", line)
                or re.match(rf"\s*{name}\s*(:[^=]*)?=", line)
                or re.match(rf"\s*(from\s+\S+\s+)?import\s+.*\b{name}\b", line))


@pytest.mark.parametrize("exercise_id", IDS)
def test_every_place_resolves(exercise_id):
    places = {p.what: p for p in where.where(exercise_id)}
    assert list(places) == list(where.WHAT)
    exercise = EXERCISES[exercise_id]
    for what, place in places.items():
        if place.path is None:
            assert what in ("jax twin", "hidden"), f"{exercise_id}: no {what}"
            continue
        assert (ROOT / place.path).is_file(), f"{exercise_id} {what}: {place.path} does not exist"
        if what == "notebook":
            cells = json.loads((ROOT / place.path).read_text(encoding="utf-8"))["cells"]
            assert cells[place.cell]["metadata"]["course"]["exercise"] == exercise_id
            assert place.path == f"solutions/{assignment_of(exercise)}/{assignment_of(exercise)}.ipynb"
            continue
        line = _line(place)
        if what in ("reference", "jax twin"):
            module, name = place.name.split(":")
            assert place.path == module.replace(".", "/") + ".py"
            assert _defines(line, name), f"{exercise_id} {what}: {place.location} is {line!r}"
            assert callable(getattr(importlib.import_module(module), name))
        elif what == "check":
            assert f'"{exercise_id}"' in line, f"{exercise_id}: {place.location} is {line!r}"
        elif what == "allowlist":
            assert _defines(line, "HANDED"), f"{exercise_id}: {place.location} is {line!r}"
        else:                                           # fixtures, hidden: a def of the named function
            assert _defines(line, place.name), f"{exercise_id} {what}: {place.location} is {line!r}"


@pytest.mark.parametrize("exercise_id", IDS)
def test_the_places_are_the_graders(exercise_id):
    exercise = EXERCISES[exercise_id]
    places = {p.what: p for p in where.where(exercise_id)}
    assert places["reference"].name == f"{exercise.reference.__module__}:{exercise.reference.__name__}"
    assert places["fixtures"].name == exercise.fixtures.__name__
    assert places["hidden"].name == (exercise.hidden.__name__ if exercise.hidden else "-")
    for helper in HANDED[assignment_of(exercise)]:
        assert helper.split(":")[1] in places["allowlist"].name
    twin = places["jax twin"]
    if twin.path is not None:     # a twin is withheld with its reference (it would give the answer away)
        assert twin.name in exercise.withheld, f"{exercise_id}: {twin.name} is not in its withheld list"


def test_every_exercise_has_its_notebook_cell_and_check():
    """Every exercise is answered in exactly one cell of its solution notebook."""
    for exercise_id, exercise in EXERCISES.items():
        path = where.notebook_path(assignment_of(exercise))
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        marked = [i for i, c in enumerate(cells) if c.get("metadata", {}).get("course", {}).get("exercise") == exercise_id]
        assert len(marked) == 1, f"{exercise_id}: cells {marked} of {path.name}"


def test_the_command_prints_the_table():
    out = subprocess.run([sys.executable, "-m", "autograder", "list", "--where", "online.fa_update"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = out.stdout.splitlines()
    assert rows[0].split() == ["exercise", "what", "name", "location"]
    assert [r.split()[0] for r in rows[1:]] == ["online.fa_update"] * len(where.WHAT)
    text = out.stdout
    for expected in ("course_utils.online:fa_update", "course_utils/online.py:", "course_utils/jax/online.py:",
                     "autograder/exercises/online.py:", "_fa_fixtures", "_fa_hidden", "HANDED: rate",
                     "solutions/05_online/05_online.ipynb cell "):
        assert expected in text, expected


def test_an_unknown_id_says_what_is_known():
    assert where.print_where("no_such.exercise") == 2
    with pytest.raises(KeyError, match="known: perturbation.weight_perturbation"):
        where.where("no_such.exercise")
