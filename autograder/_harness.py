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
    stdin  <- {"package_dir", "output_bytes", "exercises": [{"function_name", "timeout",
               "earlier_cell_seconds", "cells": [{"source"}...], "fixtures": [...]}, ...]}
              in each exercise the last cell is the answer cell being graded; earlier cells run first,
              in notebook order.
    stdout -> one frame per exercise: b"<index> <length>\\n" + JSON {"error": str | None, "fixtures":
              [{"error": str | None, "float32": bool, "arrays": {path: encoded array}}]}, or
              {"sandbox_error": str} when the exercise's child timed out, died or said too much.

The harness imports what graded code usually needs once (PRELOAD), then forks one child per
exercise: each exercise starts warm and from the same clean state, in its own process group, with
its own CPU and wall-clock limits.
"""
from __future__ import annotations

import base64
import copy
import json
import os
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
    except NotImplementedError:
        return None, False, "not implemented yet (the function raises NotImplementedError)"
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


# --- running the cells ------------------------------------------------------------------------------

class _Shell:
    """What ``get_ipython()`` returns while grading: magics and shell escapes do nothing."""
    def __getattr__(self, name):
        return lambda *args, **kwargs: None


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


class _CellTimeout(BaseException):
    pass


def _interrupt(signum, frame):
    raise _CellTimeout()


def _withhold(names: list, exercise_id: str) -> None:
    """Withhold the given helpers for this exercise only (in this forked child, before any cell)."""
    import importlib
    for qualified in names:
        module_name, name = qualified.split(":")
        message = (f"{module_name}.{name} is a reference answer (exercise {exercise_id}) and is withheld "
                   "while grading: write it yourself")

        def refuse(*args, _message=message, **kwargs):
            raise PermissionError(_message)
        setattr(importlib.import_module(module_name), name, refuse)


def run(job: dict) -> dict:
    _withhold(job.get("withhold", []), job.get("exercise", "?"))
    namespace = {"__name__": "__main__", "get_ipython": _Shell}
    *earlier, answer = job["cells"]
    signal.signal(signal.SIGALRM, _interrupt)
    for i, cell in enumerate(earlier):
        before = _course_state()
        try:  # an earlier cell that fails or loops costs only its own exercise
            signal.setitimer(signal.ITIMER_REAL, job["earlier_cell_seconds"])
            exec(compile(cell["source"], f"<cell {i + 1}>", "exec"), namespace)
        except BaseException:
            pass
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if _changes(before):     # and one that tampers is undone before the next cell runs
            _restore(before)
    before = _course_state()
    try:
        exec(compile(answer["source"], "<answer cell>", "exec"), namespace)
    except BaseException as err:
        text = str(err).splitlines()[0] if str(err) else ""
        return {"error": f"the answer cell raised {type(err).__name__}: {text}"[:300]}
    changed = _changes(before)
    if changed:
        return {"error": "the answer cell replaces the course's own code "
                         f"({', '.join(changed[:3])}); answers must not patch checks or references"}
    func = namespace.get(job["function_name"])
    if not callable(func):
        return {"error": f"the answer cell does not define {job['function_name']}"}
    fixtures = []
    for kwargs in job["fixtures"]:
        out, narrow, error = call_safely(func, kwargs)
        fixtures.append({"error": error, "float32": narrow,
                         "arrays": {k: encode(v) for k, v in (out or {}).items()}})
    return {"error": None, "fixtures": fixtures}


# What graded code usually imports, loaded once before the first exercise so that each exercise's
# fork starts warm (student code has not run yet when these are imported).
PRELOAD = ("numpy", "matplotlib", "matplotlib.pyplot", "tqdm.auto", "course_utils.config",
           "course_utils.data", "course_utils.metrics", "course_utils.mlp", "course_utils.perturbation",
           "course_utils.weight_transport", "course_utils.eqprop", "course_utils.forward_forward",
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


def _preload() -> None:
    import importlib
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except BaseException:
            pass


def _in_child(exercise: dict, write_fd: int) -> None:
    """The forked child: its own process group and CPU limit, one exercise, the result to write_fd."""
    try:
        os.setpgid(0, 0)
        import resource
        cpu = int(exercise["timeout"]) + 1
        soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        if hard == resource.RLIM_INFINITY or hard > cpu:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        exercise["fixtures"] = [decode(f) for f in exercise["fixtures"]]
        result = run(exercise)
    except BaseException as err:  # noqa: BLE001
        result = {"error": f"grading stopped: {type(err).__name__}: {err}"[:300]}
    data = json.dumps(result).encode()
    view = memoryview(data)
    while view:
        view = view[os.write(write_fd, view):]
    os._exit(0)


def _run_forked(exercise: dict, max_bytes: int) -> bytes:
    """One exercise in a forked child, within its time and output limits -> the result as JSON bytes.

    The child's process group is killed afterwards; a descendant that keeps the pipe open does not
    hold the grading (the wait ends when the child itself has exited)."""
    import select
    import time
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _in_child(exercise, write_fd)
    os.close(write_fd)
    deadline = time.monotonic() + exercise["timeout"]
    data, reason, status, exited_at = bytearray(), None, None, None
    while True:
        now = time.monotonic()
        if now > deadline:
            reason = f"took longer than {exercise['timeout']:g} s (an endless loop?)"
            break
        if status is None:
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status, exited_at = code, now
        if exited_at is not None and now - exited_at > 0.2:
            break
        ready, _, _ = select.select([read_fd], [], [], 0.05)
        if ready:
            chunk = os.read(read_fd, 65536)
            if not chunk:
                if status is not None:
                    break
                continue
            data += chunk
            if len(data) > max_bytes:
                reason = f"returned more than {max_bytes / 1e6:g} MB of results"
                break
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    if status is None:
        _, status = os.waitpid(pid, 0)
    os.close(read_fd)
    if reason is None and not data:
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL):
            reason = f"ran out of CPU time ({exercise['timeout']:g} s) or memory"
        else:
            reason = "the grading process died" + (f" (signal {os.WTERMSIG(status)})" if os.WIFSIGNALED(status) else "")
    if reason is not None:
        return json.dumps({"sandbox_error": reason}).encode()
    return bytes(data)


def main() -> None:
    """Grade a batch of exercises (one notebook's, as a rule): preload, then one fork per exercise.

    Frames on the original stdout: b"<index> <length>\\n" followed by that exercise's JSON result."""
    channel = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)       # the student's prints go nowhere
    sys.stdout = open(1, "w", closefd=False)
    job = json.loads(sys.stdin.buffer.read())
    sys.path.insert(0, job["package_dir"])
    _warm_matplotlib(os.path.join(job["package_dir"], "mplconfig"))
    _preload()
    for index, exercise in enumerate(job["exercises"]):
        data = _run_forked(exercise, job["output_bytes"])
        frame = f"{index} {len(data)}\n".encode() + data
        view = memoryview(frame)
        while view:
            view = view[os.write(channel, view):]
    os._exit(0)   # no atexit handlers or threads of the student's may hold the exit


if __name__ == "__main__":
    main()
