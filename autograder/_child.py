"""Child process of notebook grading: runs one exercise's answer and saves its outputs.

Reads a job (JSON on stdin), writes status.json and outputs.npz into job["out"]. Never compares
anything: the parent does that with its own, untouched references.
"""
from __future__ import annotations

import importlib
import json
import sys
import types
from pathlib import Path

import numpy as np


def _snapshot():
    """Identity of every function and class in the course's own modules."""
    snap = {}
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in ("course_utils", "autograder") and module is not None:
            for attr, value in vars(module).items():
                if callable(value):
                    snap[(name, attr)] = id(value)
    return snap


def _guard(exercise):
    """Replace the reference (and its JAX twin) by a function that refuses to run."""
    reference = exercise.reference
    def refuse(*args, **kwargs):
        raise PermissionError("the answer calls the course's reference solution; write your own")
    for module_name in (reference.__module__, reference.__module__.replace("course_utils.", "course_utils.jax.", 1)):
        try:
            module = importlib.import_module(module_name)
        except Exception:
            continue
        if hasattr(module, reference.__name__):
            setattr(module, reference.__name__, refuse)


def main():
    job = json.loads(sys.stdin.read())
    out = Path(job["out"])
    status = {"error": None, "fixtures": []}
    try:
        from autograder.core import call_safely
        from autograder.exercises import get_exercise
        exercise = get_exercise(job["exercise"])
        fixtures = exercise.fixtures()
        _guard(exercise)
        namespace = {"__name__": "__main__"}
        for i, source in enumerate(job["setup"]):
            try:
                exec(compile(source, f"<setup cell {i + 1}>", "exec"), namespace)
            except Exception as err:
                print(f"setup cell {i + 1} raised {type(err).__name__}: {err}", file=sys.stderr)
        before = _snapshot()
        try:
            exec(compile(job["answer"], "<answer cell>", "exec"), namespace)
        except Exception as err:
            raise RuntimeError(f"the answer cell raised {type(err).__name__}: {err}") from None
        changed = sorted(f"{m}.{a}" for (m, a), ident in before.items()
                         if id(vars(sys.modules[m]).get(a)) != ident)
        if changed:
            raise RuntimeError("the answer cell replaces the course's own code "
                               f"({', '.join(changed[:3])}); answers must not patch checks or references")
        func = namespace.get(exercise.function_name)
        if not isinstance(func, types.FunctionType) and not callable(func):
            raise RuntimeError(f"the answer cell does not define {exercise.function_name}")
        arrays = {}
        for i, fixture in enumerate(fixtures):
            value, error = call_safely(func, fixture)
            entry = {"error": error, "arrays": {}}
            if value is not None:
                for j, (path, arr) in enumerate(value.items()):
                    arrays[f"f{i}_{j}"] = arr
                    entry["arrays"][path] = f"f{i}_{j}"
            status["fixtures"].append(entry)
        np.savez(out / "outputs.npz", **arrays)
    except Exception as err:
        status = {"error": str(err).splitlines()[0] if str(err) else type(err).__name__}
    (out / "status.json").write_text(json.dumps(status))


if __name__ == "__main__":
    main()
