"""nbgrader's autograde, graded by the sandboxed grader.

nbgrader normally executes a submission in a kernel and gives each grade cell its points unless the
cell's output shows an error. In that kernel the student's code runs as the instructor, next to the
gradebook, and runs before the grade cells it could redefine (``assert_exercise = lambda *a: None``).
So the course replaces nbgrader's Execute step by ``SandboxedGrading``: it grades the notebook with
``autograder.notebook_grading`` (every answer in its own sandbox) and writes each grade cell's output
from that result, a line of feedback when it passed and an error when it did not. nbgrader then saves
the grades from those outputs as usual, so nbgrader's scores and the standalone grader's are the same
numbers, and no student code runs outside a sandbox during autograde.

A grade cell says which exercise it checks by its (locked, checksummed) source:
``assert_exercise("<exercise id>", <function>)``.
"""
from __future__ import annotations

import re

from nbconvert.preprocessors import Preprocessor
from nbformat.v4 import new_output
from traitlets import Bool

from .notebook_grading import UngradableError, grade_nb, resolve_assignment

CHECKS = re.compile(r"""assert_exercise\(\s*["']([\w.]+)["']""")


class SandboxedGrading(Preprocessor):
    """Fill every grade cell's output from the sandboxed grader's result (in place of Execute)."""

    enabled = Bool(True)

    def preprocess(self, nb, resources):
        from .sandbox import Limits, describe
        from .secret import SecretError, load, warn_if_built_in
        info = resources.get("nbgrader", {})
        try:
            secret = load()               # $COURSE_SECRET_FILE or $COURSE_SECRET, else the built-in one
            warn_if_built_in(secret)
            assignment = resolve_assignment(f"{info.get('notebook', '')}.ipynb", info.get("assignment"))
            report = grade_nb(nb, assignment, Limits(), name=info.get("notebook", ""), secret=secret)
            exercises, failure = report["exercises"], None
        except (UngradableError, SecretError) as err:
            exercises, failure = {}, str(err)
        self.log.info("Graded %s in the course's grader: %s", info.get("notebook", "?"), describe())
        for cell in nb.cells:
            grading = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or not grading.get("grade") or grading.get("solution"):
                continue
            ids = CHECKS.findall(cell.source)
            results = [exercises.get(i) for i in ids]
            if failure or not ids or any(r is None for r in results):
                reason = failure or f"no sandboxed result for {', '.join(ids) or 'this cell'}"
                cell.outputs = [_error(f"not graded: {reason}")]
            elif all(r["score"] >= r["max_score"] for r in results):
                cell.outputs = [new_output("stream", name="stdout",
                                           text="".join(f"{i}: {r['feedback']}\n" for i, r in zip(ids, results)))]
            else:
                cell.outputs = [_error("; ".join(f"{i}: {r['feedback']}" for i, r in zip(ids, results)))]
            cell.execution_count = None
        return nb, resources


def _error(message: str):
    return new_output("error", ename="AssertionError", evalue=message, traceback=[f"AssertionError: {message}"])
