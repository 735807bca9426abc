"""The checking machinery shared by every exercise: fixtures, comparison, diagnosis, scoring.

An ``Exercise`` names the student's function, its reference (from course_utils), its public
fixtures (keyword arguments; batch sizes > 1, both activations, non-square shapes, several seeds),
a generator of hidden fixtures (tens of them, drawn from the course secret to cover signs, zeros, a
batch of one, non-square shapes and the extremes of each input: ``autograder.secret``) and the known
wrong variants (``Mistake``). A student's answer passes when it matches the reference on every
fixture, public and hidden. When it does not, the feedback names the mistake whose output the answer
reproduces (wrong sign, transposed matrix, sum instead of mean, ...), and shows the first mismatching
shape or value of a public fixture; of a hidden fixture it names only the kind, never a value.

Returned values are coerced to float64 arrays before any comparison, so an object with a custom
``__eq__`` gains nothing. This module is pure: it runs no student code of its own accord (``check``
calls the function it is given, for the inline checks; the sandboxed grader calls ``evaluate`` on
outputs computed elsewhere).
"""
from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np


from ._harness import NOT_IMPLEMENTED, OutputError, call_safely as _call, normalise  # noqa: F401 (re-export)

# float32 answers: every float32 operation rounds at about 6e-8, and an exercise's arithmetic
# (differences of losses, sums over a batch) grows that to about 1e-5 of the result's scale.
FLOAT32_RTOL, FLOAT32_ATOL = 2e-4, 2e-5


@dataclass(frozen=True)
class Mistake:
    """A known wrong variant of an exercise: same signature as the reference."""
    name: str
    feedback: str
    function: Callable


@dataclass(frozen=True)
class Fixture:
    label: str                               # for a hidden fixture: its kind, never its values
    kwargs: dict
    hidden: bool = False


@dataclass(frozen=True)
class Exercise:
    id: str                                  # "<tutorial>.<exercise>", stable
    function_name: str                       # the name the student defines in the notebook
    reference: Callable
    fixtures: Callable[[], list]             # -> list[Fixture], public, deterministic
    mistakes: tuple = ()
    hidden: Callable | None = None           # (numpy Generator) -> list[Fixture]: kinds, drawn from the secret
    points: float = 1.0
    rtol: float = 1e-6
    atol: float = 1e-9
    summary: str = ""
    float32: bool = True                     # accept float32 answers (with a float32 tolerance)
    withheld: tuple = ()                     # "module:function" that give the answer away
    withheld_while_graded: tuple = ()        # withheld only while this exercise is graded (the grading
                                             # child replaces them before any cell runs)

    def tolerance(self, narrow: bool, expected: dict) -> tuple[float, float]:
        """(rtol, atol) for an answer; ``narrow``: it returned float32. float32 answers get a
        tolerance relative to the scale of the expected result."""
        if not (narrow and self.float32):
            return self.rtol, self.atol
        scale = max((float(np.max(np.abs(v))) for v in expected.values() if v.size), default=0.0)
        return max(self.rtol, FLOAT32_RTOL), max(self.atol, FLOAT32_ATOL * scale)

    @property
    def tutorial(self) -> str:
        return self.id.split(".")[0]


STATUSES = ("correct", "wrong", "error", "missing", "timeout")


@dataclass
class Result:
    exercise: str
    score: float
    max_score: float
    feedback: str
    mistake: str | None = None               # the named mistake the answer matched
    fixture: str | None = None               # the first failing fixture's label (hidden: its kind)
    hidden: bool = False                     # whether that fixture is a hidden one
    status: str = "correct"                  # one of STATUSES
    seconds: float | None = None             # wall time of the exercise's grading (sandbox only)

    @property
    def passed(self) -> bool:
        return self.score >= self.max_score

    def as_dict(self) -> dict:
        return {"score": self.score, "max_score": self.max_score, "feedback": self.feedback,
                "mistake": self.mistake, "fixture": self.fixture, "hidden": self.hidden,
                "status": self.status, "seconds": self.seconds}


# --- comparison and diagnosis ---------------------------------------------------------------------

def compare(expected: dict, got: dict, rtol: float, atol: float, reveal: bool = True):
    """-> (True, "") or (False, one line saying where the first difference is; with its values only
    when ``reveal``: never for a hidden fixture)."""
    missing = [k for k in expected if k not in got]
    if missing:
        return False, f"the result has no entry {missing[0] or 'value'}"
    extra = [k for k in got if k not in expected]
    if extra:
        return False, f"the result has an unexpected entry {extra[0]}" if reveal else \
            "the result has an entry that is not expected"
    for key, want in expected.items():
        have = got[key]
        name = key or "the result"
        if have.shape != want.shape:
            return False, f"{name} has shape {have.shape}, expected {want.shape}" if reveal else \
                f"{name} has the wrong shape (expected {want.shape})"
        if not np.all(np.isfinite(have)):
            return False, f"{name} contains NaN or infinity"
        close = np.isclose(have, want, rtol=rtol, atol=atol)
        if not close.all():
            idx = tuple(int(i) for i in np.unravel_index(np.argmin(close), want.shape)) if want.ndim else ()
            where = f"{name}[{', '.join(map(str, idx))}]" if idx else name
            if not reveal:      # (not even where: an index would let repeated gradings guess values)
                return False, f"{name} differs from the expected value"
            return False, f"{where} is {_pair(have[idx], want[idx])}"
    return True, ""


def _pair(have: float, want: float) -> str:
    """'a, expected b' with as many digits as it takes to show that they differ."""
    for digits in range(6, 18):
        a, b = f"{have:.{digits}g}", f"{want:.{digits}g}"
        if a != b:
            return f"{a}, expected {b}"
    return f"{have!r}, expected {want!r}"


def _matches(a: dict, b: dict, rtol: float, atol: float) -> bool:
    """a and b agree everywhere (NaN where the other has NaN counts as agreement)."""
    return a.keys() == b.keys() and all(
        a[k].shape == b[k].shape and np.allclose(a[k], b[k], rtol=rtol, atol=atol, equal_nan=True) for k in a)


# --- scoring -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    """What the answer returned on one fixture: outputs (or an error), and whether it was float32."""
    outputs: dict | None
    error: str | None = None
    float32: bool = False


def call_safely(func, fixture: Fixture) -> Answer:
    """Call ``func`` on a copy of the fixture; every error of the student's becomes feedback."""
    outputs, narrow, error = _call(func, fixture.kwargs)
    return Answer(outputs, error, narrow)


_PREPARED: dict = {}
MIN_HIDDEN = 20


def prepared(exercise: Exercise, secret=None) -> tuple[list, list]:
    """(fixtures, the reference's outputs on them): the public fixtures, then, given a ``secret``, the
    hidden ones drawn from it. Computed once per exercise, secret and process: a batch grades every
    notebook against the same ones. Callers must not modify them (answers are computed on copies)."""
    key = (id(exercise), None if secret is None else secret.fingerprint)
    if key not in _PREPARED or _PREPARED[key][0] is not exercise:
        fixtures = list(exercise.fixtures())
        if secret is not None and exercise.hidden is not None:
            rng, drawn = np.random.default_rng(secret.seed(exercise.id)), []
            while len(drawn) < MIN_HIDDEN:          # every kind again, with new values, until there are enough
                drawn += exercise.hidden(rng)
            fixtures += [Fixture(f.label, f.kwargs, hidden=True) for f in drawn]
        expected = [normalise(exercise.reference(**copy.deepcopy(f.kwargs))) for f in fixtures]
        _PREPARED[key] = (exercise, fixtures, expected, {})
    return _PREPARED[key][1], _PREPARED[key][2]


def _mistake_outputs(exercise: Exercise, secret) -> list:
    """Every known mistake's outputs on every fixture (None where it fails), once per process."""
    fixtures, _ = prepared(exercise, secret)
    cache = _PREPARED[(id(exercise), None if secret is None else secret.fingerprint)][3]
    if "mistakes" not in cache:
        wrongs = []
        for mistake in exercise.mistakes:
            outs = []
            for fixture in fixtures:
                try:
                    with np.errstate(all="ignore"), warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        outs.append(normalise(mistake.function(**copy.deepcopy(fixture.kwargs))))
                except Exception:
                    outs.append(None)
            wrongs.append(outs)
        cache["mistakes"] = wrongs
    return cache["mistakes"]


def evaluate(exercise: Exercise, answers: list, secret=None) -> Result:
    """Score answers already computed on ``prepared(exercise, secret)``'s fixtures (a list of Answer,
    one per fixture)."""
    fixtures, expected = prepared(exercise, secret)
    if len(answers) != len(fixtures):
        return Result(exercise.id, 0.0, exercise.points, "no marks: the grading process returned "
                      "a malformed result (wrong number of fixtures)", status="error")
    for i, (fixture, answer) in enumerate(zip(fixtures, answers)):
        where = f"[{'hidden fixture: ' if fixture.hidden else ''}{fixture.label}]"
        common = dict(fixture=fixture.label, hidden=fixture.hidden)
        if answer.error is not None:
            status = "missing" if answer.error == NOT_IMPLEMENTED else "error"
            error = _without_values(answer.error) if fixture.hidden else answer.error
            return Result(exercise.id, 0.0, exercise.points, f"{exercise.function_name} {error} {where}",
                          status=status, **common)
        ok, detail = compare(expected[i], answer.outputs, *exercise.tolerance(answer.float32, expected[i]),
                             reveal=not fixture.hidden)
        if not ok:
            note = ""
            if answer.float32 and not exercise.float32:
                note = "; this exercise needs float64 and your result is float32"
            mistake, diagnosis = _diagnose(exercise, fixtures, expected, answers, i, secret)
            return Result(exercise.id, 0.0, exercise.points, f"{diagnosis} {where} ({detail}{note})",
                          mistake=mistake, status="wrong", **common)
    precision = " (float32 accepted)" if any(a.float32 for a in answers) else ""
    hidden = sum(f.hidden for f in fixtures)
    counted = f"{len(fixtures) - hidden} public and {hidden} hidden" if hidden else f"{len(fixtures)}"
    return Result(exercise.id, exercise.points, exercise.points,
                  f"correct: matches the reference on all {counted} fixtures{precision}")


def _without_values(error: str) -> str:
    """An answer's error on a hidden fixture, without anything the answer wrote (its message, its
    exception's own class name, its result's keys): what it writes could carry the fixture's values."""
    import builtins
    if error == NOT_IMPLEMENTED or error.startswith("modified its input"):
        return error.split(";")[0]
    if error.startswith("raised "):
        kind = error[len("raised "):].split(":")[0].split(" ")[0]
        exception = getattr(builtins, kind, None)
        known = isinstance(exception, type) and issubclass(exception, BaseException)
        return f"raised {kind if known else 'an exception'}"
    if error.startswith("returned None"):
        return "returned None (did you forget the return statement?)"
    return "returned something that is not numbers of the expected structure"


def _diagnose(exercise, fixtures, expected, answers, failing: int, secret=None) -> tuple[str | None, str]:
    """-> (the named mistake or None, one line naming the likely mistake). A named mistake must explain
    the answer on every fixture (or, failing that, on the first mismatching one); a generic one (sign,
    transpose, factor, ignored argument) must hold on every fixture."""
    tols = [exercise.tolerance(a.float32, e) for a, e in zip(answers, expected)]
    wrongs = _mistake_outputs(exercise, secret)
    available = [i for i, a in enumerate(answers) if a.outputs is not None]   # (a later fixture may crash)

    def explains(outs, indices):
        return (outs[failing] is not None
                and not _matches(expected[failing], outs[failing], *tols[failing])
                and all(outs[i] is not None and _matches(outs[i], answers[i].outputs, *tols[i]) for i in indices))
    for indices in (available, [failing]):
        for mistake, outs in zip(exercise.mistakes, wrongs):
            if explains(outs, indices):
                return mistake.name, f"{mistake.name}: {mistake.feedback}"
    pick = lambda items: [items[i] for i in available]
    generic = _generic_diagnosis(exercise, pick(fixtures), pick(expected), pick(answers), pick(tols))
    if generic:
        return generic.split(":")[0], generic
    return None, "does not match the reference"


def _generic_diagnosis(exercise, fixtures, expected, answers, tols) -> str | None:
    """Mistakes any exercise can make, each claimed only when it holds on every fixture."""
    got = [a.outputs for a in answers]
    n = range(len(fixtures))
    if any(set(e) != set(g) for e, g in zip(expected, got)):
        return None
    nonzero = [any(np.any(np.abs(v) > 1e-12) for v in e.values()) for e in expected]
    negated = [_matches(e, {k: -v for k, v in g.items()}, *t) for e, g, t in zip(expected, got, tols)]
    right = [_matches(e, g, *t) for e, g, t in zip(expected, got, tols)]
    if all(negated[i] or not nonzero[i] for i in n) and any(nonzero):
        return "wrong sign: your result is minus the expected one"
    if all(negated[i] or right[i] for i in n) and any(negated[i] and nonzero[i] for i in n):
        return ("the sign is right on some fixtures and wrong on others: an abs() where the sign "
                "matters, or a sign taken from the wrong quantity?")
    if any(v.ndim == 2 for e in expected for v in e.values()) and all(
            all(g[k].shape == e[k].shape[::-1] for k in e)
            and _matches(e, {k: v.T for k, v in g.items()}, *t) for e, g, t in zip(expected, got, tols)):
        return "transposed: a weight-shaped result must be (out, in), yours is (in, out)"
    ignored = _ignored_argument(exercise, fixtures, got, tols)
    if ignored:
        return ignored
    if all(sum(v.size for v in e.values()) > 1 for e in expected):
        ratios = [_constant_ratio(e, g) for e, g in zip(expected, got)]
        if all(r is not None for r in ratios):
            batches = [_batch_size(f) for f in fixtures]
            if all(b and b > 1 for b in batches) and all(np.isclose(r, b) for r, b in zip(ratios, batches)):
                return "sum instead of mean: your result is N (the batch size) times too large"
            if all(b and b > 1 for b in batches) and all(np.isclose(r, 1 / b) for r, b in zip(ratios, batches)):
                return "divided by the batch size once too often: your result is N times too small"
            if all(np.isclose(r, ratios[0], rtol=1e-6) for r in ratios) and not np.isclose(ratios[0], 1.0):
                return f"off by a constant factor: your result is {ratios[0]:.4g} times the expected one"
    return None


def _constant_ratio(expected: dict, got: dict):
    """c where got = c * expected on every nonzero entry (None if there is no such c)."""
    if any(got[k].shape != v.shape for k, v in expected.items()):
        return None
    pairs = [(got[k][np.abs(v) > 1e-12], v[np.abs(v) > 1e-12]) for k, v in expected.items()]
    have = np.concatenate([p[0] for p in pairs]) if pairs else np.array([])
    want = np.concatenate([p[1] for p in pairs]) if pairs else np.array([])
    if have.size < 2:
        return None
    ratio = have / want
    c = float(np.median(ratio))
    return c if np.allclose(ratio, c, rtol=1e-6) else None


def _ignored_argument(exercise, fixtures, got, tols) -> str | None:
    """An answer that computes the same thing whatever a string option (such as activation) says."""
    options = {k for f in fixtures for k, v in f.kwargs.items() if isinstance(v, str)}
    for name in sorted(options):
        values = sorted({f.kwargs[name] for f in fixtures if name in f.kwargs})
        if len(values) < 2:
            continue
        for fixed in values:
            try:
                same = all(_matches(normalise(exercise.reference(**copy.deepcopy({**f.kwargs, name: fixed}))), g, *t)
                           for f, g, t in zip(fixtures, got, tols) if name in f.kwargs)
            except Exception:
                same = False
            if same:
                return (f"ignores the argument {name!r}: your result is always the one for "
                        f"{name}={fixed!r}; use the {name} you are given")
    return None


def _batch_size(fixture: Fixture):
    x = fixture.kwargs.get("x")
    return int(np.shape(x)[0]) if x is not None and np.ndim(x) >= 1 else None


def check(exercise: Exercise, func, secret=None) -> Result:
    """Run ``func`` on every fixture (public, and hidden ones drawn from ``secret``) in this process
    and score it. The inline check (``autograder.inline``) calls it with the built-in secret, under the
    assignment's allowlist."""
    if not callable(func):
        return Result(exercise.id, 0.0, exercise.points,
                      f"{exercise.function_name} is not a function (got {type(func).__name__})", status="error")
    return evaluate(exercise, [call_safely(func, f) for f in prepared(exercise, secret)[0]], secret)


def variant(function, **options):
    """A wrong variant with fixed options, called like the reference: variant(f, sign=-1)(**fixture)."""
    return lambda **kwargs: function(**kwargs, **options)


