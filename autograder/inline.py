"""The inline check, under the same rules as grading.

A student's inline check runs in their own kernel, where the whole course package and every installed
package are at hand. Grading offers an answer only its assignment's helpers (``autograder.allowlist``)
and the students' runtime (``autograder.runtime``). So that an answer that passes here never scores less
when graded, the check:

- refuses an answer that *is* a course function the assignment does not hand out (``gradient_snr =
  perturbation.gradient_snr``), with the line grading gives;
- calls the answer under a profile hook that stops, with that same line, any call into the course's
  code outside the allowlist made by the student's code or by a library on its behalf (``jax.grad`` of a
  course function included), and any call into a third-party package that grading does not offer;
- draws the same kinds of hidden fixtures as grading, from the built-in secret (practice values: the
  graded ones come from the instructor's secret).
"""
from __future__ import annotations

import functools
import sys
from pathlib import Path

from . import allowlist, runtime
from .core import Exercise, Result, check
from .secret import PRACTICE

_AUTOGRADER_DIR = Path(__file__).resolve().parent
_COURSE_DIR = allowlist.PACKAGE_DIR


@functools.lru_cache(maxsize=None)
def _open(assignment: str, withheld: tuple) -> frozenset:
    """{(module, top-level name)} that keep their code for this assignment (minus ``withheld``)."""
    from .exercises import HANDED
    names = allowlist.open_names(HANDED[assignment])
    sealed = set(allowlist.parse_names(withheld))
    return frozenset((m, n) for m, ns in names.items() for n in ns if (m, n) not in sealed)


@functools.lru_cache(maxsize=None)
def _offered_modules() -> frozenset:
    return runtime.modules() | frozenset(getattr(sys, "stdlib_module_names", ())) | {
        "course_utils", "autograder", "__main__"}


@functools.lru_cache(maxsize=4096)
def _course_name(filename: str):
    """(module, None) for a file of the course package, else None."""
    try:
        relative = Path(filename).resolve().relative_to(_COURSE_DIR)
    except (ValueError, OSError):
        return None
    return allowlist._module_name(relative)


@functools.lru_cache(maxsize=4096)
def _third_party(filename: str):
    """The top-level module of a file in a site-packages folder, or None."""
    parts = Path(filename).parts
    for i, part in enumerate(parts):
        if part in ("site-packages", "dist-packages") and i + 1 < len(parts):
            return parts[i + 1].split(".")[0]
    return None


@functools.lru_cache(maxsize=4096)
def _students(filename: str) -> bool:
    """Whether code in ``filename`` is the student's (a notebook cell, a file of theirs): neither the
    course's, nor a library's, nor the standard library's."""
    if _ours(filename) or _third_party(filename) is not None or filename.startswith("<frozen"):
        return False
    return not filename.startswith(_STDLIB)


_STDLIB = str(Path(functools.__file__).resolve().parent)


def _ours(filename: str) -> bool:
    return _course_name(filename) is not None or filename.startswith(str(_AUTOGRADER_DIR))


def _hook(opened: frozenset, assignment: str, handed: tuple, withheld: dict):
    offered = _offered_modules()

    def profile(frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        module = _course_name(code.co_filename)
        if module is not None:
            top = getattr(code, "co_qualname", code.co_name).split(".")[0]
            if top.startswith("<") or (module, top) in opened:
                return
            caller = frame.f_back
            if caller is not None and _ours(caller.f_code.co_filename):
                return     # the course's own code calling itself (a given helper's insides, the checks)
            name = f"{module}.{top}"
            if name in withheld:
                raise PermissionError(allowlist.WHILE_GRADED.format(name=name, exercise=withheld[name]))
            raise PermissionError(allowlist.message(name, assignment, handed))
        top_module = _third_party(code.co_filename)
        if top_module is not None and top_module not in offered and frame.f_back is not None \
                and _students(frame.f_back.f_code.co_filename):
            raise PermissionError(f"{top_module} is not offered while grading (answers may use NumPy, SciPy, JAX, "
                          "Matplotlib and the standard library)")
    return profile


def _course_function(func):
    """The course's (module, name) when ``func`` is itself a course function (through partials), else None."""
    while isinstance(func, functools.partial):
        func = func.func
    code = getattr(func, "__code__", None)
    if code is None:
        wrapped = getattr(func, "__wrapped__", None)        # jax.jit and functools.wraps keep it here
        code = getattr(wrapped, "__code__", None)
    if code is None:
        return None
    module = _course_name(code.co_filename)
    if module is None:
        return None
    return module, getattr(code, "co_qualname", code.co_name).split(".")[0]


def _unoffered_globals(func) -> str | None:
    """A third-party module that the answer names (a global it uses) and grading does not offer."""
    code, scope = getattr(func, "__code__", None), getattr(func, "__globals__", None)
    if code is None or scope is None:
        return None
    names, todo = set(), [code]
    while todo:
        c = todo.pop()
        names.update(c.co_names)
        todo += [k for k in c.co_consts if hasattr(k, "co_names")]
    offered = _offered_modules()
    for name in sorted(names):
        value = scope.get(name)
        module = getattr(value, "__name__", None) if type(value).__name__ == "module" else None
        if module and module.split(".")[0] not in offered:
            return module.split(".")[0]
    return None


def check_as_graded(exercise: Exercise, func) -> Result:
    """The inline check: ``func`` on the public and practice fixtures, under the assignment's allowlist."""
    from .exercises import HANDED, assignment_of
    assignment = assignment_of(exercise)
    handed = HANDED[assignment]
    withheld = {f"{m}.{n}": exercise.id for m, n in allowlist.parse_names(exercise.withheld_while_graded)}
    opened = _open(assignment, tuple(exercise.withheld_while_graded))
    own = _course_function(func)
    if own is not None and own not in opened:     # the answer is a sealed course function: as graded
        name = f"{own[0]}.{own[1]}"
        why = (allowlist.WHILE_GRADED.format(name=name, exercise=exercise.id) if name in withheld
               else allowlist.message(name, assignment, handed))

        def sealed(*args, **kwargs):
            raise PermissionError(why)
        sealed.__name__ = exercise.function_name
        return check(exercise, sealed, PRACTICE)
    unoffered = _unoffered_globals(func)
    if unoffered:
        return Result(exercise.id, 0.0, exercise.points,
                      f"no marks when graded: {exercise.function_name} uses {unoffered}, which is not offered "
                      "while grading (answers may use NumPy, SciPy, JAX, Matplotlib and the standard library)",
                      status="error")
    if not callable(func):
        return check(exercise, func, PRACTICE)
    hook = _hook(opened, assignment, handed, withheld)

    @functools.wraps(func)
    def guarded(*args, **kwargs):
        previous = sys.getprofile()
        sys.setprofile(hook)
        try:
            return func(*args, **kwargs)
        finally:
            sys.setprofile(previous)
    return check(exercise, guarded, PRACTICE)
