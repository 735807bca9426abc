"""Graders for the course's exercises.

Three doors, one set of checks:
- inline, in a notebook (ipytest):   ``assert_exercise("perturbation.node_perturbation", fn)``
- nbgrader test cells:                the same call, in a locked grade cell
- standalone:                         ``python -m autograder grade NOTEBOOK.ipynb --json``
"""
from __future__ import annotations

from .core import Exercise, Mistake, Result


def check_exercise(exercise_id: str, func) -> Result:
    """Check ``func`` against the reference of ``exercise_id`` -> Result(score, max_score, feedback)."""
    from .core import check
    from .exercises import get_exercise
    return check(get_exercise(exercise_id), func)


def assert_exercise(exercise_id: str, func) -> Result:
    """Raise AssertionError with the feedback unless ``func`` passes every fixture."""
    result = check_exercise(exercise_id, func)
    if not result.passed:
        raise AssertionError(f"{exercise_id}: {result.feedback}")
    return result


__all__ = ["Exercise", "Mistake", "Result", "assert_exercise", "check_exercise"]
