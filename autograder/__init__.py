"""Graders for the course's exercises.

Three doors, one set of checks:
- in a notebook: the check cell under each exercise, ``assert_exercise("<id>", fn)``; in the
  student's own kernel it shows one line (green when the answer passes, red with the named mistake
  and the first mismatch when it does not) and lets the notebook run on;
- nbgrader: the same cell is a locked grade cell; under nbgrader (``NBGRADER_EXECUTION``) and outside
  a notebook a failing check raises AssertionError, as a test must;
- standalone: ``python -m autograder grade NOTEBOOK.ipynb --json``, each answer in a sandbox.
"""
from __future__ import annotations

import os

from .core import Exercise, Mistake, Result


def check_exercise(exercise_id: str, func, *, as_graded: bool = True) -> Result:
    """Check ``func`` against the reference of ``exercise_id`` on its public fixtures and practice
    hidden fixtures -> Result(score, max_score, feedback, ...).

    ``as_graded`` (the inline check): under the assignment's allowlist, as grading applies it
    (``autograder.inline``), so that an answer that passes here never scores less when graded. Tests
    that check the course's own references pass ``as_graded=False``."""
    from .core import check
    from .exercises import get_exercise
    from .secret import PRACTICE
    exercise = get_exercise(exercise_id)
    if as_graded:
        from .inline import check_as_graded
        return check_as_graded(exercise, func)
    return check(exercise, func, PRACTICE)


def assert_exercise(exercise_id: str, func) -> None:
    """Check ``func``: one line of feedback in a student's notebook; AssertionError when it fails
    under nbgrader or outside a notebook."""
    result = check_exercise(exercise_id, func)
    if _in_students_kernel():
        _show(exercise_id, result)
    elif not result.passed:
        raise AssertionError(f"{exercise_id}: {result.feedback}")


def _in_students_kernel() -> bool:
    if os.environ.get("NBGRADER_EXECUTION"):
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _show(exercise_id: str, result: Result) -> None:
    """One line: a green tick and what passed, or a red cross, the named mistake and the mismatch."""
    import html

    from IPython.display import display
    ok = result.passed
    text = f"{'PASS' if ok else 'FAIL'} {exercise_id}: {result.feedback}"
    colour, mark = ("#1a7f37", "&#10004;") if ok else ("#cf222e", "&#10008;")
    html_line = (f'<div style="color:{colour};font-family:monospace;white-space:pre-wrap">{mark} '
                 f"<b>{html.escape(exercise_id)}</b>: {html.escape(result.feedback)}</div>")
    display({"text/plain": text, "text/html": html_line}, raw=True)


__all__ = ["Exercise", "Mistake", "Result", "assert_exercise", "check_exercise"]
