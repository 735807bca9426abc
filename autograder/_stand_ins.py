"""The course's functions standing in for failing earlier answers, computed outside the sandbox.

An answer that calls an earlier answer which fails its own check is graded again with the course's
function in its place (``notebook_grading._run``). That function's code never enters the sandbox: the
answer's calls of it are recorded there, and computed here, in a process of its own under the grader's
limits (address space, CPU, wall time), because their arguments come from graded code (a (N, 0) @ (0, H)
product holds no numbers and makes an N x H matrix).

    stdin  <- {"functions": {function name: exercise id}, "requests": [{"name", "key", "shapes", "call"}]}
    stdout -> one JSON line per request, as it is computed: [key, {"value": encoded} or {"error": one line},
              shapes key, zeros shaped like the value (or null)]
"""
from __future__ import annotations

import json
import sys
import warnings

import numpy as np

from ._harness import decode, encode

ELEMENTS = 2_000_000       # numbers in the arguments of all the calls of one exercise, per round
INTEGER = 100_000          # the largest integer argument (steps, sizes, ...)
OUTPUT_BYTES = 16_000_000  # results written in all; calls beyond it are answered with an error


def _count(value) -> int:
    if isinstance(value, dict):
        return sum(_count(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_count(v) for v in value) + len(value)
    return int(value.size) if isinstance(value, np.ndarray) else 1


def _largest_integer(value) -> int:
    if isinstance(value, dict):
        return max((_largest_integer(v) for v in value.values()), default=0)
    if isinstance(value, (list, tuple)):
        return max((_largest_integer(v) for v in value), default=0)
    return abs(value) if isinstance(value, int) and not isinstance(value, bool) else 0


def zeros(value):
    """A value of the same structure, all zeros."""
    if isinstance(value, dict):
        return {k: zeros(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(zeros(v) for v in value)
    return np.zeros_like(np.asarray(value))


def _one_line(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}"
    return "".join(c if c.isprintable() else "?" for c in text)[:200]


def main() -> None:
    job = json.loads(sys.stdin.buffer.read())
    from .exercises import EXERCISES
    functions = {name: EXERCISES[exercise].reference for name, exercise in job["functions"].items()}
    elements, written = ELEMENTS, 0
    for request in job["requests"]:
        template = None
        try:
            call = decode(request["call"], max_elements=max(elements, 0))
            if not (isinstance(call, dict) and isinstance(call.get("args"), list)
                    and isinstance(call.get("kwargs"), dict)):
                raise ValueError("malformed call")
            elements -= _count(call)
            if elements < 0 or _largest_integer(call) > INTEGER:
                raise ValueError("the arguments are too large")
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                value = functions[request["name"]](*call["args"], **call["kwargs"])
            entry, template = {"value": encode(value)}, encode(zeros(value))
        except Exception as err:     # the student's arguments: the error is theirs to see
            entry = {"error": _one_line(err)}
        line = json.dumps([request["key"], entry, request["shapes"], template]) + "\n"
        if written + len(line) > OUTPUT_BYTES:
            line = json.dumps([request["key"], {"error": "ValueError: the results are too large"}, None, None]) + "\n"
        written += len(line)
        sys.stdout.write(line)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
