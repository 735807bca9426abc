"""A copy of the course package in which the exercises' answers are withheld.

Every exercise names the functions that would give its answer away (``Exercise.withheld``: the
NumPy reference, its JAX twin, and the course helpers that compute the same thing). A redacted copy
keeps every module, signature and docstring, but the body of each withheld function is replaced by a
``PermissionError`` that says what to do; its source is gone too, so ``inspect.getsource`` finds
nothing to copy. Two users:

- the sandbox (``autograder.sandbox``): student code is graded against a redacted copy and sees no
  other copy of the course;
- the student edition (``python -m autograder student-edition``): a wheel to hand to students when
  the course gives marks, built from the same transformation.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import os
import shutil
from pathlib import Path

import course_utils

PACKAGE_DIR = Path(course_utils.__file__).resolve().parent

GRADING = ("{name} is a reference answer (exercise {exercise}) and is withheld while grading: "
           "write it yourself, or use your own earlier answer")
STUDENT_EDITION = ("{name} is withheld in the student edition of the course package: it is the "
                   "answer to exercise {exercise}; use your own function")

# What graded code may import of the autograder: the inline checks do nothing while grading.
AUTOGRADER_STUB = '''"""The autograder is not available to graded code; inline checks do nothing while grading."""


def assert_exercise(exercise_id, func):
    return None


def check_exercise(exercise_id, func):
    return None
'''


def withheld_names(exercises, extra=()) -> dict[str, dict[str, str]]:
    """{module: {function: exercise id}} for every exercise's withheld functions, plus ``extra``
    (pairs of "module:function" and exercise id)."""
    out: dict[str, dict[str, str]] = {}
    pairs = [(name, e.id) for e in exercises for name in e.withheld] + list(extra)
    for qualified, exercise_id in pairs:
        module, function = qualified.split(":")
        out.setdefault(module, {})[function] = exercise_id
    return out


def redact_source(source: str, functions: dict[str, str], module: str, message: str) -> str:
    """The module's source with each top-level function in ``functions`` made to raise."""
    tree = ast.parse(source)
    found = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in functions:
            found.add(node.name)
            text = message.format(name=f"{module}.{node.name}", exercise=functions[node.name])
            raise_stmt = ast.parse(f"raise PermissionError({text!r})").body[0]
            docstring = ast.get_docstring(node, clean=False)
            node.body = ([ast.Expr(ast.Constant(docstring))] if docstring else []) + [raise_stmt]
    missing = set(functions) - found
    if missing:
        raise LookupError(f"{module} has no function(s) {', '.join(sorted(missing))} to withhold")
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def _module_name(relative: Path) -> str:
    return ".".join(("course_utils",) + relative.with_suffix("").parts).removesuffix(".__init__")


def build(destination, withheld: dict[str, dict[str, str]], message: str = GRADING,
          autograder_stub: bool = True) -> Path:
    """Write a redacted course_utils (and a stub autograder) under ``destination``; -> destination."""
    destination = Path(destination)
    target = destination / "course_utils"
    unused = set(withheld)
    for path in sorted(PACKAGE_DIR.rglob("*")):
        relative = path.relative_to(PACKAGE_DIR)
        if "__pycache__" in relative.parts or path.is_dir():
            continue
        out = target / relative
        out.parent.mkdir(parents=True, exist_ok=True)
        module = _module_name(relative) if path.suffix == ".py" else None
        if module in withheld:
            unused.discard(module)
            out.write_text(redact_source(path.read_text(), withheld[module], module, message))
        else:
            shutil.copyfile(path, out)
    if unused:
        raise LookupError(f"no module(s) {', '.join(sorted(unused))} in course_utils")
    if autograder_stub:
        (destination / "autograder").mkdir(parents=True, exist_ok=True)
        (destination / "autograder" / "__init__.py").write_text(AUTOGRADER_STUB)
    for root, dirs, files in os.walk(destination):   # readable by the sandbox's unprivileged user
        os.chmod(root, 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    return destination


@functools.lru_cache(maxsize=None)
def source_digest(*package_dirs: Path) -> str:
    """A hash of every .py file below the given package folders (read once per process)."""
    digest = hashlib.sha256()
    for root in package_dirs:
        for path in sorted(Path(root).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def fingerprint(withheld: dict) -> str:
    """Changes when the package or the withheld set changes (cache key of a redacted copy)."""
    digest = hashlib.sha256(repr(sorted((m, sorted(f.items())) for m, f in withheld.items())).encode())
    digest.update(source_digest(PACKAGE_DIR).encode())
    return digest.hexdigest()[:16]
