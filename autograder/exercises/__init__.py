"""Every graded exercise of the course, by id ("<tutorial>.<exercise>"), and what each assignment hands
to graded answers.

Each tutorial's module defines a tuple ``EXERCISES`` and ``HANDED``, the course helpers its setup cell
imports for answers to use ("module:name"; everything else of the course is sealed while grading and
in the inline check: ``autograder.allowlist``); they are collected here in tutorial order.
"""
from __future__ import annotations

from importlib import import_module

from ..core import Exercise

# One module per tutorial, in course order, and the assignment (solutions/ folder) of each.
ASSIGNMENTS = {
    "01_perturbation": "perturbation",
    "02_weight_transport": "weight_transport",
    "03_eqprop": "eqprop",
    "04_forward_forward": "forward_forward",
    "05_online": "online",
    "06_synthesis": "synthesis",
}
TUTORIAL_MODULES = tuple(ASSIGNMENTS.values())

EXERCISES: dict[str, Exercise] = {}
HANDED: dict[str, tuple] = {}          # assignment -> the course helpers graded answers may call
for _assignment, _name in ASSIGNMENTS.items():
    _module = import_module(f"{__name__}.{_name}")
    HANDED[_assignment] = tuple(_module.HANDED)
    for _exercise in _module.EXERCISES:
        if _exercise.id in EXERCISES:
            raise ValueError(f"exercise id {_exercise.id!r} is defined twice")
        EXERCISES[_exercise.id] = _exercise


def tutorials() -> list[str]:
    return list(dict.fromkeys(e.tutorial for e in EXERCISES.values()))


def exercises_of(tutorial: str) -> list[Exercise]:
    return [e for e in EXERCISES.values() if e.tutorial == tutorial]


def assignment_of(exercise: Exercise) -> str:
    return next(a for a, t in ASSIGNMENTS.items() if t == exercise.tutorial)


def get_exercise(exercise_id: str) -> Exercise:
    if exercise_id not in EXERCISES:
        raise KeyError(f"unknown exercise {exercise_id!r}; known: {', '.join(EXERCISES)}")
    return EXERCISES[exercise_id]
