"""The checking machinery shared by every exercise: fixtures, comparison, diagnosis, scoring.

An ``Exercise`` names the student's function, its reference (from course_utils), a list of
fixtures (keyword arguments; batch sizes > 1, both activations, non-square shapes, several seeds)
and the known wrong variants (``Mistake``). A student's answer passes when it matches the
reference on every fixture. When it does not, the feedback names the mistake whose output the
answer reproduces (wrong sign, transposed matrix, sum instead of mean, ...), or else shows the first
mismatching shape or value.

Returned values are coerced to float64 arrays before any comparison, so an object with a custom
``__eq__`` gains nothing.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


class OutputError(ValueError):
    """The answer returned something that is not numbers of the expected structure."""


@dataclass(frozen=True)
class Mistake:
    """A known wrong variant of an exercise: same signature as the reference."""
    name: str
    feedback: str
    function: Callable


@dataclass(frozen=True)
class Fixture:
    label: str
    kwargs: dict


@dataclass(frozen=True)
class Exercise:
    id: str                                  # "<tutorial>.<exercise>", stable
    function_name: str                       # the name the student defines in the notebook
    reference: Callable
    fixtures: Callable[[], list]             # -> list[Fixture], deterministic
    mistakes: tuple = ()
    points: float = 1.0
    rtol: float = 1e-6
    atol: float = 1e-9
    summary: str = ""

    @property
    def tutorial(self) -> str:
        return self.id.split(".")[0]


@dataclass
class Result:
    exercise: str
    score: float
    max_score: float
    feedback: str

    @property
    def passed(self) -> bool:
        return self.score >= self.max_score

    def as_dict(self) -> dict:
        return {"score": self.score, "max_score": self.max_score, "feedback": self.feedback}


# --- coercion and comparison -------------------------------------------------------------------

def normalise(value) -> dict:
    """Any answer -> {path: float64 ndarray}. Dicts keep their keys, tuples their positions."""
    out = {}

    def walk(v, path):
        if isinstance(v, dict):
            if not v:
                raise OutputError(f"returned an empty dict at {path or 'top level'}")
            for k in v:
                walk(v[k], f"{path}[{k!r}]" if path else str(k))
        elif isinstance(v, (tuple, list)) and not _is_numeric_sequence(v):
            for i, item in enumerate(v):
                walk(item, f"{path}[{i}]")
        else:
            if v is None:
                raise OutputError(f"returned None{' at ' + path if path else ''} "
                                  "(did you forget the return statement?)")
            try:
                arr = np.array(np.asarray(v), dtype=np.float64)
            except (TypeError, ValueError) as err:
                raise OutputError(f"returned a {type(v).__name__}{' at ' + path if path else ''}, "
                                  "which is not an array of numbers") from err
            out[path] = arr

    walk(value, "")
    return out


def _is_numeric_sequence(v) -> bool:
    try:
        arr = np.asarray(v)
    except Exception:
        return False
    return arr.dtype.kind in "biuf" and arr.dtype != object


def compare(expected: dict, got: dict, rtol: float, atol: float):
    """-> (True, "") or (False, one line saying where the first difference is)."""
    missing = [k for k in expected if k not in got]
    if missing:
        return False, f"the result has no entry {missing[0] or 'value'}"
    extra = [k for k in got if k not in expected]
    if extra:
        return False, f"the result has an unexpected entry {extra[0]}"
    for key, want in expected.items():
        have = got[key]
        name = key or "the result"
        if have.shape != want.shape:
            return False, f"{name} has shape {have.shape}, expected {want.shape}"
        if not np.all(np.isfinite(have)):
            return False, f"{name} contains NaN or infinity"
        close = np.isclose(have, want, rtol=rtol, atol=atol)
        if not close.all():
            idx = tuple(int(i) for i in np.unravel_index(np.argmin(close), want.shape)) if want.ndim else ()
            where = f"{name}[{', '.join(map(str, idx))}]" if idx else name
            return False, f"{where} is {have[idx]:.6g}, expected {want[idx]:.6g}"
    return True, ""


def _generic_diagnosis(expected: dict, got: dict, fixture: Fixture, rtol, atol) -> str | None:
    """Mistakes any exercise can make: sign, transpose, a constant factor such as N."""
    if set(expected) != set(got):
        return None
    if compare(expected, {k: -v for k, v in got.items()}, rtol, atol)[0]:
        return "wrong sign: your result is exactly minus the expected one"
    if all(got[k].shape == expected[k].shape[::-1] for k in expected) and any(
            v.ndim == 2 for v in expected.values()):
        transposed = {k: v.T for k, v in got.items()}
        if compare(expected, transposed, rtol, atol)[0]:
            return "transposed: a weight-shaped result must be (out, in), yours is (in, out)"
    for key, want in expected.items():
        have = got[key]
        if have.shape != want.shape:
            return None
    ratios = []
    for key, want in expected.items():
        mask = np.abs(want) > 1e-12
        if mask.any():
            ratios.append(got[key][mask] / want[mask])
    if ratios:
        ratio = np.concatenate(ratios)
        c = float(np.median(ratio))
        if np.allclose(ratio, c, rtol=1e-6) and not np.isclose(c, 1.0):
            batch = _batch_size(fixture)
            if batch and batch > 1 and np.isclose(c, batch):
                return f"sum instead of mean: your result is {batch} (the batch size) times too large"
            if batch and batch > 1 and np.isclose(c, 1 / batch):
                return f"divided by the batch size once too often: your result is {batch} times too small"
            return f"off by a constant factor: your result is {c:.4g} times the expected one"
    return None


def _batch_size(fixture: Fixture):
    x = fixture.kwargs.get("x")
    return int(np.shape(x)[0]) if x is not None and np.ndim(x) >= 1 else None


# --- running and evaluating ----------------------------------------------------------------------

def call_safely(func, fixture: Fixture):
    """Call ``func`` on a copy of the fixture -> (normalised output, None) or (None, message)."""
    kwargs = copy.deepcopy(fixture.kwargs)
    try:
        value = func(**kwargs)
    except NotImplementedError:
        return None, "not implemented yet (the function raises NotImplementedError)"
    except Exception as err:  # the student's code: any error is feedback, never a crash
        return None, f"raised {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    try:
        out = normalise(value)
    except OutputError as err:
        return None, str(err)
    for name, original in fixture.kwargs.items():
        if not _same_tree(original, kwargs[name]):
            return None, f"modified its input '{name}' in place; exercises must not change their inputs"
    return out, None


def _same_tree(a, b) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same_tree(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(map(_same_tree, a, b))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    return True


def evaluate(exercise: Exercise, outputs: list) -> Result:
    """Score answers already computed on ``exercise.fixtures()``.

    outputs: one entry per fixture, (normalised output, None) or (None, error message).
    """
    fixtures = exercise.fixtures()
    if len(outputs) != len(fixtures):
        return Result(exercise.id, 0.0, exercise.points, "internal error: wrong number of outputs")
    for fixture, (got, error) in zip(fixtures, outputs):
        where = f"[{fixture.label}]"
        if error is not None:
            return Result(exercise.id, 0.0, exercise.points, f"{exercise.function_name} {error} {where}")
        expected = normalise(exercise.reference(**copy.deepcopy(fixture.kwargs)))
        ok, detail = compare(expected, got, exercise.rtol, exercise.atol)
        if ok:
            continue
        return Result(exercise.id, 0.0, exercise.points,
                      f"{_diagnose(exercise, fixture, expected, got)} {where} ({detail})")
    return Result(exercise.id, exercise.points, exercise.points,
                  f"correct: matches the reference on all {len(fixtures)} fixtures")


def _diagnose(exercise, fixture, expected, got) -> str:
    for mistake in exercise.mistakes:
        try:
            wrong = normalise(mistake.function(**copy.deepcopy(fixture.kwargs)))
        except Exception:
            continue
        if compare(expected, wrong, exercise.rtol, exercise.atol)[0]:
            continue  # this variant is not wrong on this fixture: it cannot explain the mismatch
        if compare(wrong, got, exercise.rtol, exercise.atol)[0]:
            return f"{mistake.name}: {mistake.feedback}"
    generic = _generic_diagnosis(expected, got, fixture, exercise.rtol, exercise.atol)
    return generic or "does not match the reference"


def check(exercise: Exercise, func) -> Result:
    """Run ``func`` on every fixture in this process and score it (inline checks, nbgrader)."""
    if not callable(func):
        return Result(exercise.id, 0.0, exercise.points,
                      f"{exercise.function_name} is not a function (got {type(func).__name__})")
    return evaluate(exercise, [call_safely(func, f) for f in exercise.fixtures()])


def variant(function, **options):
    """A wrong variant with fixed options, called like the reference: variant(f, sign=-1)(**fixture)."""
    return lambda **kwargs: function(**kwargs, **options)
