"""The grading child: runs a student's cells and calls one answer on the fixtures it is given.

This file is the only grader code that runs next to student code. It runs inside the sandbox
(``python -I harness.py``), imports nothing but the standard library and NumPy, and knows nothing of
the references: the parent sends the fixtures, receives the answer's outputs as plain arrays, and
compares them with its own references. Whatever this process sends back is treated by the parent as
untrusted data, so nothing here has to be tamper-proof for the marks to be right: a forged result can
only claim outputs, and only correct outputs earn marks.

The same helpers (``normalise``, ``call_safely``, the array codec) serve the in-kernel checks through
``autograder.core``, so both doors coerce and compare answers in exactly one way.

Protocol:
    stdin  <- {"package_dir", "output_bytes", "site": a folder of the offered packages (no sandbox only),
               "cells": [{"source"}...] (the setup and answer cells to run, in notebook order, as written),
               "earlier_cell_seconds", "cell_read_seconds", "read_seconds",
               "exercises": [{"exercise", "function_name", "answer": index of its answer cell in cells,
                              "timeout", "fixtures": [...], "stand_ins": [names], "memo": {...}}, ...]}
    stdout -> one frame per exercise: b"<index> <length>\\n" + JSON {"outcome": {"error": str | None,
              "fixtures": [{"error": str | None, "float32": bool, "arrays": {path: encoded array}}],
              "requests": [{"name", "key", "call"}] (calls of stand-ins to compute: see _stand_in)} or
              {"sandbox_error": str}, "seconds": float, "skipped": [[cell index, why], ...]}.

The harness imports what graded code usually needs once (PRELOAD, and JAX where a cell imports it),
reads every cell once (IPython's transformation, here under time limits, never in the grader's process),
then forks one child per exercise: each exercise starts warm and from the same clean state, in its own
process group, with its own CPU and wall-clock limits, and no descriptor of the harness's. Each child runs
the earlier cells, then the answer cell, and reports through a shared mapping (``Channel``) where it is and
what it computed. An earlier cell that ends the child or holds it past its time is skipped, and the
exercise graded again without it; so are the later exercises, and their results say so.
"""
from __future__ import annotations

import base64
import copy
import json
import os
import re
import signal
import sys

import numpy as np

# dtypes that may cross the boundary, in either direction
_DTYPES = {"<f8", "<f4", "<i8", "<i4", "|b1", "<u8", "<u4", "|u1", "|i1", "<i2", "<u2"}


class OutputError(ValueError):
    """The answer returned something that is not numbers of the expected structure."""


# --- the answer's outputs: any structure of numbers -> {path: float64 array} -----------------------

def normalise(value) -> dict:
    """Any answer -> {path: float64 ndarray}. Dicts keep their keys, tuples their positions."""
    return normalise_with_precision(value)[0]


def normalise_with_precision(value) -> tuple[dict, bool]:
    """-> ({path: float64 array}, whether any returned leaf was a float32 or narrower float)."""
    out, narrow = {}, [False]

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
                original = np.asarray(v)
                if original.dtype.kind not in "biuf":
                    raise TypeError(original.dtype)
                arr = np.array(original, dtype=np.float64)
            except (TypeError, ValueError) as err:
                raise OutputError(f"returned a {type(v).__name__}{' at ' + path if path else ''}, "
                                  "which is not an array of numbers") from err
            if original.dtype.kind == "f" and original.dtype.itemsize < 8:
                narrow[0] = True
            out[path] = arr

    walk(value, "")
    return out, narrow[0]


def _is_numeric_sequence(v) -> bool:
    try:
        arr = np.asarray(v)
    except Exception:
        return False
    return arr.dtype.kind in "biuf"


NOT_IMPLEMENTED = "not implemented yet (the function raises NotImplementedError)"


def _raised_in(err):
    """The name of the function that raised ``err`` (the innermost frame), or None."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_name if tb is not None else None


def same_tree(a, b) -> bool:
    """Whether b still equals a (used to catch answers that modify their inputs in place)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same_tree(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(map(same_tree, a, b))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    return True


def call_safely(func, kwargs: dict):
    """Call ``func(**kwargs)`` on a copy -> (outputs, float32?, None) or (None, False, message)."""
    import warnings
    given = copy.deepcopy(kwargs)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):   # the feedback says what went wrong
            warnings.simplefilter("ignore")
            value = func(**given)
    except NotImplementedError as err:
        where = _raised_in(err)
        if where in (None, getattr(func, "__name__", None)):
            return None, False, NOT_IMPLEMENTED
        return None, False, f"raised NotImplementedError in {where} (not implemented yet)"[:300]
    except (Exception, SystemExit) as err:  # the student's code: any error is feedback, never a crash
        text = str(err).splitlines()[0] if str(err) else ""
        return None, False, f"raised {type(err).__name__}: {text}"[:300]
    try:
        out, narrow = normalise_with_precision(value)
    except OutputError as err:
        return None, False, str(err)
    for name, original in kwargs.items():
        if not same_tree(original, given[name]):
            return None, False, (f"modified its input '{name}' in place; "
                                 "exercises must not change their inputs")
    return out, narrow, None


# --- the codec: nested dicts, tuples, lists, scalars and arrays as JSON ----------------------------

def encode(value):
    if isinstance(value, dict):
        return {"dict": [[str(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"tuple": [encode(v) for v in value]}
    if isinstance(value, list):
        return {"list": [encode(v) for v in value]}
    if isinstance(value, (np.ndarray, np.generic)):
        arr = np.array(value, order="C")   # (ascontiguousarray would make a 0-d array 1-d)
        if arr.dtype.byteorder == ">" or arr.dtype.str not in _DTYPES:
            arr = arr.astype(np.float64)
        return {"nd": [arr.dtype.str, list(arr.shape), base64.b64encode(arr.tobytes()).decode()]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"v": value}
    raise TypeError(f"cannot encode {type(value).__name__}")


def decode(obj, max_elements: int = 50_000_000, depth: int = 0):
    """The inverse of encode, for data from an untrusted source: checks types, dtypes and sizes."""
    if depth > 20 or not isinstance(obj, dict) or len(obj) != 1:
        raise ValueError("malformed value")
    (kind, body), = obj.items()
    if kind == "v":
        if body is None or isinstance(body, (bool, int, float, str)):
            return body
    elif kind in ("tuple", "list") and isinstance(body, list):
        items = [decode(v, max_elements, depth + 1) for v in body]
        return tuple(items) if kind == "tuple" else items
    elif kind == "dict" and isinstance(body, list):
        out = {}
        for pair in body:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                raise ValueError("malformed dict")
            out[pair[0]] = decode(pair[1], max_elements, depth + 1)
        return out
    elif kind == "nd" and isinstance(body, list) and len(body) == 3:
        dtype, shape, data = body
        if dtype not in _DTYPES or not isinstance(shape, list) or len(shape) > 8 or not isinstance(data, str):
            raise ValueError("malformed array")
        if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= max_elements for n in shape):
            raise ValueError("malformed array shape")
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if count > max_elements or len(data) > 4 * (count * np.dtype(dtype).itemsize // 3 + 4):
            raise ValueError("array too large")
        raw = base64.b64decode(data.encode("ascii"), validate=True)
        if len(raw) != count * np.dtype(dtype).itemsize:
            raise ValueError("array size does not match its shape")
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    raise ValueError("malformed value")


# --- reading the cells ------------------------------------------------------------------------------

class _Shell:
    """What ``get_ipython()`` returns while grading: magics and shell escapes do nothing."""
    def __getattr__(self, name):
        return lambda *args, **kwargs: None


class _Interrupted(BaseException):
    """A time limit inside this process (a cell, or reading a cell)."""


def _interrupt(signum, frame):
    raise _Interrupted()


def _limited(seconds: float, function, *args):
    """``function(*args)`` within ``seconds`` of wall time (SIGALRM), else _Interrupted."""
    signal.signal(signal.SIGALRM, _interrupt)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.01))
    try:
        return function(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def to_python(cells: list, cell_seconds: float, total_seconds: float) -> list:
    """Every cell as plain Python, transformed as IPython does it (magics become calls, ``!cmd`` a shell
    call), each within ``cell_seconds`` and all within ``total_seconds``: a cell that takes longer to read
    becomes None (it is not run, and the result says so). Runs here, inside the sandbox, never in the
    grader's own process: IPython's transformation is not linear in a cell's size."""
    import time
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        transform = lambda source: TransformerManager().transform_cell(source)  # noqa: E731
    except ImportError:           # no IPython: plain Python only
        transform = lambda source: source  # noqa: E731
    out, deadline = [], time.monotonic() + total_seconds
    for cell in cells:
        budget = min(cell_seconds, deadline - time.monotonic())
        read = _definitions if cell.get("definitions") else (lambda source: source)
        try:
            out.append(_limited(budget, lambda: read(transform(cell["source"])))
                       if budget > 0 else None)
        except _Interrupted:
            out.append(None)
        except Exception:  # a syntax error: the cell's own exec reports it (none kept of a definitions cell)
            out.append("" if cell.get("definitions") else cell["source"])
    return out


def _definitions(source: str) -> str:
    """Of a cell that is neither a setup nor an answer cell, what it defines at the top level: functions,
    classes, imports and constants (``EPS = 1e-8``); none of its other statements (training, figures)."""
    import ast
    keep = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
            keep.append(node)
        elif isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            try:
                ast.literal_eval(node.value)
                keep.append(node)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                pass
    # one statement per line group, each on its own so that one failing import does not drop the rest
    return "\n".join(f"try:\n{_indent(ast.unparse(n))}\nexcept Exception:\n    pass" for n in keep)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.split("\n"))


# --- the child's world --------------------------------------------------------------------------------

def _course_state() -> dict:
    """Identity of everything in the course's own modules (to notice and undo patching)."""
    state = {}
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in ("course_utils", "autograder"):
            state[name] = (module, dict(vars(module)) if module is not None else {})
    return state


def _changes(before: dict) -> list:
    changed = []
    now = {n: m for n, m in list(sys.modules.items()) if n.split(".")[0] in ("course_utils", "autograder")}
    for name, (module, attrs) in before.items():
        if now.get(name) is not module:
            changed.append(name)
            continue
        current = vars(module) if module is not None else {}
        changed += [f"{name}.{a}" for a, v in attrs.items() if current.get(a, _MISSING) is not v]
    return changed


def _restore(before: dict) -> None:
    for name in [n for n in sys.modules if n.split(".")[0] in ("course_utils", "autograder")]:
        if name not in before:
            del sys.modules[name]
    for name, (module, attrs) in before.items():
        sys.modules[name] = module
        if module is not None:
            vars(module).clear()
            vars(module).update(attrs)


_MISSING = object()


class StandInPending(Exception):
    """A call of an earlier exercise's function that the grader has not computed yet (see _stand_in)."""


STAND_IN_BYTES = 4_000_000        # the arguments of the calls one exercise may ask the grader to compute


def _plain(value):
    """Arguments of a stand-in call as what ``encode`` takes (JAX arrays and the like become NumPy)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(v) for v in value)
    if value is None or isinstance(value, (bool, int, float, str, np.ndarray, np.generic)):
        return value
    if hasattr(value, "__array__"):
        return np.asarray(value)
    raise TypeError(f"cannot pass a {type(value).__name__}")


def _stand_in(name: str, memo: dict, requests: list):
    """The course's ``name`` standing in for the student's own, failing, earlier answer. Its code is not
    in the sandbox: the grader computes it, outside, from the arguments the answer passes. A call it has
    not computed yet is recorded and raises StandInPending; the grader computes the recorded calls and
    grades again with their results (``memo``: {key: {"value": encoded} or {"error": one line}}, and
    "template:<shapes>": zeros shaped like the result of a call with arguments of the same shapes, returned for calls not computed yet, so that one round
    records the calls of a loop, not only its first)."""
    import hashlib

    def stand_in(*args, **kwargs):
        try:
            call = encode({"args": _plain(list(args)), "kwargs": _plain(kwargs)})
        except TypeError as err:
            raise TypeError(f"the course's {name} (standing in for yours) {err}") from None
        text = json.dumps([name, call], sort_keys=True)
        key = hashlib.sha256(text.encode()).hexdigest()
        if key in memo:
            answer = memo[key]
            if "error" in answer:
                raise ValueError(f"the course's {name} (standing in for yours) raised {answer['error']}")
            return decode(answer["value"])
        shapes = hashlib.sha256(json.dumps([name, _shapes(call)], sort_keys=True).encode()).hexdigest()
        if key not in {r["key"] for r in requests} and \
                sum(len(r["text"]) for r in requests) + len(text) <= STAND_IN_BYTES:
            requests.append({"name": name, "key": key, "shapes": shapes, "call": call, "text": text})
        template = memo.get(f"template:{shapes}")
        if template is not None:      # zeros shaped like an earlier result: the answer goes on to its other calls
            return decode(template["value"])
        raise StandInPending(f"the course's {name} is computed by the grader")

    stand_in.__name__ = stand_in.__qualname__ = name
    return stand_in


def _shapes(encoded):
    """An encoded value with every array's numbers left out (its dtype and shape kept)."""
    if isinstance(encoded, dict):
        return {k: (v[:2] if k == "nd" else _shapes(v)) for k, v in encoded.items()}
    if isinstance(encoded, list):
        return [_shapes(v) for v in encoded]
    return encoded


# --- the shared result channel ------------------------------------------------------------------------
#
# An anonymous shared mapping, created by the harness before it forks: the child writes where it is
# (which cell it runs) and its result there, so no descriptor exists that a student's cell could write
# to (the child closes every inherited one before any cell runs), and the harness knows which cell ended
# or held the process.

_HEADER = 64
_COMMITTED = 0x5245_5355_4C54_2121      # written last, after the result's length
ANSWER_CELL, CALLING = 1 << 40, (1 << 40) + 1


class Channel:
    def __init__(self, capacity: int):
        import mmap
        self.capacity = capacity
        self.map = mmap.mmap(-1, _HEADER + capacity)

    def reset(self):
        self.map[:_HEADER] = bytes(_HEADER)
        self.set_step(-1)

    def set_step(self, step: int):
        self.map[0:8] = step.to_bytes(8, "little", signed=True)
        count = int.from_bytes(self.map[8:16], "little") + 1
        self.map[8:16] = count.to_bytes(8, "little")

    def step(self) -> tuple[int, int]:
        return int.from_bytes(self.map[0:8], "little", signed=True), int.from_bytes(self.map[8:16], "little")

    def write(self, data: bytes):
        if len(data) > self.capacity:
            data = json.dumps({"sandbox_error": f"returned more than {self.capacity / 1e6:g} MB of results"}).encode()
        self.map[_HEADER:_HEADER + len(data)] = data
        self.map[16:24] = len(data).to_bytes(8, "little")
        self.map[24:32] = _COMMITTED.to_bytes(8, "little")

    def read(self) -> bytes | None:
        if int.from_bytes(self.map[24:32], "little") != _COMMITTED:
            return None
        length = int.from_bytes(self.map[16:24], "little")
        return bytes(self.map[_HEADER:_HEADER + length]) if 0 <= length <= self.capacity else None


# --- one exercise, in a forked child ------------------------------------------------------------------

# Graded code sees the same wall clock in every grading (a grade must not depend on when it was given):
# this date, plus the time since the child started. (C-level clocks, datetime.now among them, are not pinned.)
EPOCH = 1_767_225_600.0      # 2026-01-01 00:00 UTC


def _pin_clock() -> None:
    import time
    start = time.monotonic_ns()
    time.time_ns = lambda: int(EPOCH * 1e9) + time.monotonic_ns() - start
    time.time = lambda: time.time_ns() / 1e9


def run(job: dict, cells: list, channel: Channel) -> dict:
    """Run the earlier cells (those not skipped) and the answer cell, then call the answer."""
    import random
    _pin_clock()
    random.seed(0)          # an answer that draws from the global generators draws the same in every grading
    np.random.seed(0)
    namespace = {"__name__": "__main__", "get_ipython": _Shell}
    skip = set(job.get("skip", []))
    answer = job["answer"]
    for i in range(answer):
        if i in skip or cells[i] is None:
            continue
        channel.set_step(i)
        before = _course_state()
        try:  # an earlier cell that fails or loops costs only its own exercise
            _limited(job["earlier_cell_seconds"], exec, compile(cells[i], f"<cell {i + 1}>", "exec"), namespace)
        except BaseException:
            pass
        if _changes(before):     # and one that tampers is undone before the next cell runs
            _restore(before)
    if job.get("probe"):     # (the cells up to the one named as ending or holding the process, and no further)
        channel.set_step(ANSWER_CELL)
        return {"error": None, "probe": True}
    channel.set_step(ANSWER_CELL)
    if cells[answer] is None:
        return {"error": "the answer cell could not be read in time (it is too long or too complex)"}
    before = _course_state()
    try:
        exec(compile(cells[answer], "<answer cell>", "exec"), namespace)
    except BaseException as err:
        text = str(err).splitlines()[0] if str(err) else ""
        return {"error": f"the answer cell raised {type(err).__name__}: {text}"[:300]}
    changed = _changes(before)
    if changed:
        return {"error": "the answer cell replaces the course's own code "
                         f"({', '.join(changed[:3])}); answers must not patch checks or references"}
    requests: list = []
    for name in job.get("stand_ins", []):
        namespace[name] = _stand_in(name, job.get("memo", {}), requests)
    func = namespace.get(job["function_name"])
    if not callable(func):
        return {"error": f"the answer cell does not define {job['function_name']}"}
    channel.set_step(CALLING)
    fixtures = []
    for kwargs in job["fixtures"]:
        out, narrow, error = call_safely(func, kwargs)
        fixtures.append({"error": error, "float32": narrow,
                         "arrays": {k: encode(v) for k, v in (out or {}).items()}})
    return {"error": None, "fixtures": fixtures,
            "requests": [{k: r[k] for k in ("name", "key", "shapes", "call")} for r in requests]}


def _in_child(job: dict, cells: list, channel: Channel) -> None:
    """The forked child: no descriptor of the harness's, its own process group and CPU limit."""
    try:
        os.setpgid(0, 0)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.closerange(3, 1 << 16)
        import resource
        cpu = int(job["timeout"]) + 1
        soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        if hard == resource.RLIM_INFINITY or hard > cpu:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        for other in _JOBS:      # what this exercise's code may see of the others: nothing (their fixtures)
            if other is not job:
                other.clear()
        job["fixtures"] = [decode(f) for f in job["fixtures"]]
        result = run(job, cells, channel)
    except BaseException as err:  # noqa: BLE001
        result = {"error": f"grading stopped: {type(err).__name__}: {err}"[:300]}
    try:
        channel.write(json.dumps(result).encode())
    finally:
        os._exit(0)


_JOBS: list = []      # every exercise's job (a child clears all but its own before any cell runs)


def _clear_tmp(keep: set) -> None:
    """Remove what a child left in the private /tmp (the next exercise starts from the same files)."""
    import shutil
    tmp = os.environ.get("TMPDIR") or "/tmp"
    try:
        names = os.listdir(tmp)
    except OSError:
        return
    for name in names:
        if name in keep:
            continue
        path = os.path.join(tmp, name)
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        except OSError:
            pass


def grade_one(job: dict, cells: list, channel: Channel, bad_cells: dict) -> dict:
    """Grade one exercise in forked children: again without an earlier cell that ended the process or
    held it past its time (that cell is then skipped for every later exercise too, and the result says
    so) -> {"outcome": the child's result or {"sandbox_error"}, "seconds", "skipped": [[cell, why]]}."""
    import time
    start = time.monotonic()
    deadline = start + job["timeout"]
    while True:
        job["skip"] = sorted(bad_cells)
        outcome, culprit = _run_child(job, cells, channel, deadline)
        if culprit is None or culprit[0] in bad_cells:
            break
        if not _confirmed(job, cells, channel, culprit):
            outcome = {"sandbox_error": "ended or held the grading process"}
            break
        bad_cells[culprit[0]] = culprit[1]
        deadline = time.monotonic() + job["timeout"]    # the exercise's own time starts again without it
    if outcome is None:
        outcome = {"sandbox_error": "earlier cells ended or held the grading process until its time ran out"}
    skipped = [[i, why] for i, why in sorted(bad_cells.items()) if i < job["answer"]]
    return {"outcome": outcome, "seconds": round(time.monotonic() - start, 4), "skipped": skipped}


def _confirmed(job: dict, cells: list, channel: Channel, culprit) -> bool:
    """Whether the earlier cell that the child named (through the channel, which graded code can write)
    ends or holds the process when the cells are run up to it and no further."""
    import time
    probe = {**job, "answer": culprit[0] + 1, "probe": True}
    limit = 1.5 * job["earlier_cell_seconds"] + 2.0
    _, again = _run_child(probe, cells, channel, time.monotonic() + limit)
    return again is not None and again[0] == culprit[0]


def _run_child(job: dict, cells: list, channel: Channel, deadline: float):
    """-> (the child's result or {"sandbox_error"}, (earlier cell, why) when an earlier cell is to blame)."""
    import time
    channel.reset()
    pid = os.fork()
    if pid == 0:
        _in_child(job, cells, channel)
    status, reason, culprit = None, None, None
    last, since = channel.step(), time.monotonic()
    limit = 1.5 * job["earlier_cell_seconds"]     # (a cell that ignores the alarm is blamed after this)
    while status is None:
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            status = code
            break
        now = time.monotonic()
        step = channel.step()
        if step != last:
            last, since = step, now
        if 0 <= step[0] < job["answer"] and now - since > limit:
            culprit = (step[0], f"ran longer than {job['earlier_cell_seconds']:g} s")
            break
        if now > deadline:
            reason = f"took longer than {job['timeout']:g} s (an endless loop?)"
            break
        time.sleep(0.01)
    status = _end_all(pid, status)
    _clear_tmp(keep={"matplotlib"})
    data = channel.read()
    if culprit is not None:
        return None, culprit
    step = channel.step()[0]
    if reason is None and 0 <= step < job["answer"]:      # (whatever it wrote: a result comes after the cells)
        return None, (step, "ended the grading process")
    if data is not None and reason is None:
        try:
            return json.loads(data.decode("utf-8", errors="replace")), None
        except (ValueError, RecursionError):
            return {"sandbox_error": "the grading process returned a malformed result"}, None
    if reason is None:
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL):
            reason = f"ran out of CPU time ({job['timeout']:g} s) or memory"
        else:
            reason = "ended the grading process" + (f" (signal {os.WTERMSIG(status)})" if os.WIFSIGNALED(status) else "")
    return {"sandbox_error": reason}, None


def _end_all(pid: int, status):
    """End the child and everything it started -> the child's wait status. As the sandbox's init (PID 1),
    kill(-1) reaches every other process of the sandbox, detached ones included, and the orphans it
    inherited are reaped here; outside a sandbox, the child's process group."""
    import time
    if os.getpid() == 1:
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
        give_up = time.monotonic() + 5.0
        while time.monotonic() < give_up:
            try:
                done, code = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if done == pid:
                status = code
            elif done == 0:
                time.sleep(0.005)
        return status if status is not None else 0
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    if status is None:
        _, status = os.waitpid(pid, 0)
    return status


def _as_init() -> None:
    """As PID 1 of the sandbox, handle no signal: the kernel then drops every signal that a process of the
    sandbox sends to the harness (SIGKILL and SIGSTOP included). Children set their own handlers. And be
    no process's to inspect: not dumpable, so that no other process of the sandbox (same user) may open
    its /proc entries (its descriptors: the pipe of results to the grader) or trace it."""
    if os.getpid() != 1:
        return
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)     # PR_SET_DUMPABLE, 0
    except (OSError, AttributeError):
        pass
    for number in (signal.SIGINT, signal.SIGALRM, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(number, signal.SIG_DFL)


# What graded code usually imports, loaded once before the first exercise so that each exercise's
# fork starts warm (student code has not run yet when these are imported).
PRELOAD = ("numpy", "matplotlib", "matplotlib.pyplot", "tqdm.auto", "IPython.core.inputtransformer2",
           "course_utils.config", "course_utils.data", "course_utils.metrics", "course_utils.mlp",
           "course_utils.perturbation", "course_utils.weight_transport", "course_utils.eqprop",
           "course_utils.forward_forward", "course_utils.online", "course_utils.synthesis",
           "course_utils.plotting", "course_utils.training", "course_utils.widgets", "autograder")


def _warm_matplotlib(cache: str) -> None:
    """Copy the grader's prebuilt font cache into this sandbox's (writable, empty) MPLCONFIGDIR."""
    import shutil
    target = os.environ.get("MPLCONFIGDIR")
    if target and os.path.isdir(cache):
        try:
            shutil.copytree(cache, target, dirs_exist_ok=True)
        except OSError:
            pass


# JAX, only where a cell of the notebook imports it (``import jax.numpy as jnp``, ``from course_utils.jax
# import eqprop``): importing it takes about a second, which each later exercise's child would pay again
# (in both parts). Importing starts no thread: JAX's backend starts at the first computation, in a child.
_JAX_IMPORT = re.compile(r"^[ \t]*(?:import|from)[ \t]+((?:jax|course_utils\.jax)(?:\.\w+){0,3})\b", re.M)


def _jax_imports(cells: list, exercises: list) -> list:
    """The JAX modules (at most 8) that the cells up to the last answer cell import (the cells that the
    exercises' children run), in the order they appear."""
    names: list = []
    last = max((e["answer"] for e in exercises if isinstance(e.get("answer"), int)), default=-1)
    for source in cells[:last + 1]:
        for match in _JAX_IMPORT.finditer(source or ""):
            if match.group(1) not in names and len(names) < 8:
                names.append(match.group(1))
    return names


def _preload(names=PRELOAD) -> None:
    import importlib
    for name in names:
        try:
            importlib.import_module(name)
        except BaseException:
            pass


def main() -> None:
    """Grade a batch of exercises (one notebook's): read the cells once, then one fork per exercise.

    Frames on the original stdout, which no child inherits: b"<index> <length>\\n" followed by that
    exercise's JSON ({"outcome", "seconds", "skipped"})."""
    channel_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = open(1, "w", closefd=False)
    os.set_inheritable(channel_fd, False)
    job = json.loads(sys.stdin.buffer.read())
    if job.get("site"):   # no sandbox: the installed packages seen through a folder of the offered ones
        sys.path[:] = [p for p in sys.path if os.path.basename(p) not in ("site-packages", "dist-packages")]
        sys.path.append(job["site"])
    sys.path.insert(0, job["package_dir"])
    _warm_matplotlib(os.environ.get("COURSE_MPLCACHE", ""))
    _preload()
    cells = to_python(job["cells"], job.get("cell_read_seconds", 5.0), job.get("read_seconds", 20.0))
    _preload(_jax_imports(cells, job["exercises"]))
    _as_init()
    channel = Channel(job["output_bytes"])
    bad_cells: dict = {i: "could not be read in time" for i, c in enumerate(cells) if c is None}
    _JOBS[:] = job.pop("exercises")
    for index, exercise in enumerate(_JOBS):
        exercise.setdefault("earlier_cell_seconds", job.get("earlier_cell_seconds", 10.0))
        result = grade_one(exercise, cells, channel, bad_cells)
        data = json.dumps(result).encode()
        frame = f"{index} {len(data)}\n".encode() + data
        view = memoryview(frame)
        while view:
            view = view[os.write(channel_fd, view):]
    os._exit(0)   # no atexit handlers or threads of the student's may hold the exit


if __name__ == "__main__":
    main()
